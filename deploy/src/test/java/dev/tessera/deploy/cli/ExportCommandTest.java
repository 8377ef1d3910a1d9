package dev.tessera.deploy.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tessera.deploy.Main;
import dev.tessera.deploy.config.ConfigLoader;
import dev.tessera.deploy.config.ModelRegistry;
import dev.tessera.deploy.config.RunConfig;
import dev.tessera.deploy.export.TrainingExport;
import dev.tessera.deploy.safetensors.SafeTensors;
import dev.tessera.deploy.train.TrainingSetup;
import dev.tessera.graph.DType;
import dev.tessera.graph.Shape;
import dev.tessera.tensor.HostTensor;
import dev.tessera.tensor.Tolerance;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(60)
class ExportCommandTest {
    @TempDir
    Path dir;

    private int run(ByteArrayOutputStream err, String... args) {
        return Main.execute(args, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    private Path config() throws IOException {
        return Files.writeString(dir.resolve("run.conf"), "model.type = tiny-linear\ntrain { batch_size = 3, micro_batches = 2, seed = 9 }\n");
    }

    @Test
    void shouldWriteTheInitialParametersInF64TheBatchesOfEveryStepAndTheConfig() throws Exception {
        Path out = dir.resolve("export");
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        assertEquals(0, run(err, "export", config().toString(), "--steps", "3", "--out", out.toString()), err.toString());

        RunConfig run = new ConfigLoader(ModelRegistry.fromClassPath()).load(config(), List.of());
        TrainingSetup setup = TrainingSetup.from(run);
        Map<String, HostTensor> parameters = SafeTensors.read(out.resolve(TrainingExport.PARAMETERS_FILE)).tensors();
        assertEquals(Set.of("fc.weight", "fc.bias"), parameters.keySet());
        assertEquals(DType.F64, parameters.get("fc.weight").dtype());
        assertEquals(Shape.of(4, 2), parameters.get("fc.weight").shape());
        // the f32 run starts from these values rounded: the first draw of the initialiser is the same
        try (var reference = new dev.tessera.worker.exec.ReferenceExecutor(setup.graph(), 9)) {
            Tolerance.of(DType.F32).requireClose("initial parameters", parameters, reference.parameters());
        }

        Map<String, HostTensor> batches = SafeTensors.read(out.resolve(TrainingExport.BATCHES_FILE)).tensors();
        assertEquals(3 * 2 * 3, batches.size(), "3 steps x 2 micro-batches x 3 inputs: " + batches.keySet());
        var data = setup.model().trainData(9, 3);
        // step 2, micro-batch 1 is the trainer's batch 2 * 2 + 1
        Tolerance.EXACT.requireClose("batch 2/1", data.batch(5), Map.of(
                "x", batches.get("2/1/x"), "negated_target", batches.get("2/1/negated_target"),
                "scale", batches.get("2/1/scale")));
        String digest = HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                .digest(Files.readAllBytes(out.resolve(TrainingExport.BATCHES_FILE))));
        assertEquals(digest, TrainingExport.sha256(TrainingExport.batchTensors(TrainingExport.batches(run, setup, 3))),
                "a test re-drawing the batches can prove they are the exported ones");

        JsonNode description = new ObjectMapper().readTree(out.resolve(TrainingExport.RUN_FILE).toFile());
        assertEquals("tiny-linear", description.get("model").asText());
        assertEquals(3, description.get("steps").asInt());
        assertEquals(2, description.get("config").get("train").get("micro_batches").asInt());
        assertEquals("fc.weight.adam_m", description.get("optimizer_state").get(0).get("name").asText());
        assertEquals(4, description.get("parameters").get(0).get("shape").get(0).asInt());
    }

    @Test
    void shouldRefuseAStepCountBelowOne() throws IOException {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        assertEquals(Main.EXIT_BAD_INPUT, run(err, "export", config().toString(), "--steps", "0", "--out",
                dir.resolve("x").toString()));
        assertTrue(err.toString(StandardCharsets.UTF_8).startsWith("error: --steps must be >= 1, got 0"), err.toString());
    }
}
