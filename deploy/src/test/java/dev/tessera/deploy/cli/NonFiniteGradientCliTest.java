package dev.tessera.deploy.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.deploy.Main;
import dev.tessera.deploy.checkpoint.Checkpoint;
import dev.tessera.deploy.checkpoint.CheckpointStore;
import dev.tessera.tensor.HostTensor;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code tessera train} with a gradient that overflows at step 4 while the loss stays finite (the
 * test model {@code exploding}) ends with one error line naming the step, the gradient and its
 * op, exit status 1, the steps before it logged and the checkpoint before it intact.
 */
@Timeout(120)
class NonFiniteGradientCliTest {
    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0} devices")
    @ValueSource(ints = {1, 2})
    void shouldEndTrainingWithOneLineNamingTheStepAndTheGradientKeepingTheCheckpoint(int devices) throws IOException {
        Path conf = Files.writeString(dir.resolve("run.conf"), "model { type = exploding, explode_at = 3 }\n"
                + "train { steps = 10, batch_size = 4, log_every = 1 }\ncheckpoint.every = 2\n"
                + "parallel { devices = " + devices + ", data = " + devices + " }\n");
        Path runDir = dir.resolve("run");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();

        int status = Main.execute(new String[] {"train", conf.toString(), "--run-dir", runDir.toString()},
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));

        String error = err.toString(StandardCharsets.UTF_8);
        assertEquals(1, status, error);
        assertEquals(1, error.lines().count(), error);
        assertTrue(error.startsWith("error: gradient 'fc1.weight.grad"), error);
        assertTrue(error.contains("is not finite at step 4;") && error.contains("op 'fc1.matmul.grad")
                && error.contains("No parameter was updated"), error);
        assertEquals(3, Files.readAllLines(runDir.resolve("metrics.jsonl")).size(), "steps 1 to 3 stay logged");
        CheckpointStore checkpoints = new CheckpointStore(runDir, 3);
        assertEquals(List.of(2L), checkpoints.steps(), "the failing step writes no checkpoint");
        Checkpoint kept = checkpoints.load(checkpoints.pathOf(2));
        for (HostTensor weight : kept.parameters().values()) {
            assertTrue(Arrays.stream(weight.convert(dev.tessera.graph.DType.F64).doubles()).allMatch(Double::isFinite));
        }
        assertFalse(Files.exists(runDir.resolve("summary.json")), "an unfinished run has no summary");
    }
}
