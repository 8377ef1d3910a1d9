package dev.tessera.examples.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tessera.deploy.Main;
import dev.tessera.examples.data.FashionMnist;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The shipped example configs trained through the real CLI ({@code tessera train}), end to end:
 * data, model, autodiff, reference executor, evaluation and the run directory. These show the
 * models learn, not merely run.
 */
class ExamplesLearnTest {

    @TempDir
    Path runs;

    private JsonNode train(String config, String... overrides) throws IOException {
        return train(runs.resolve("run"), config, overrides);
    }

    private JsonNode train(Path runDir, String config, String... overrides) throws IOException {
        List<String> args = new ArrayList<>(List.of("train", config, "--run-dir", runDir.toString()));
        for (String o : overrides) {
            args.add("--set");
            args.add(o);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = Main.execute(args.toArray(String[]::new), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(0, exit, err.toString(StandardCharsets.UTF_8));
        return new ObjectMapper().readTree(runDir.resolve("summary.json").toFile());
    }

    @Test
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    void shouldReachEightyFivePercentOnFashionMnistWithTheShippedConfig() throws IOException {
        Assumptions.assumeTrue(Files.isRegularFile(Path.of(FashionMnist.DEFAULT_PATH, "train-images-idx3-ubyte.gz")),
                "dataset-fashion-mnist is not installed (apt-get install dataset-fashion-mnist)");

        JsonNode summary = train("configs/mlp-fashion.conf");

        assertTrue(summary.get("test_accuracy").asDouble() >= 0.85, summary.toString());
        assertTrue(summary.get("final_loss").asDouble() < summary.get("initial_loss").asDouble() / 3, summary.toString());
    }

    @Test
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    void shouldLearnThreeDigitAdditionWithTheReadmeCommand() throws IOException {
        JsonNode summary = train("configs/gpt-addition.conf");

        assertTrue(summary.get("test_exact_match").asDouble() > 0.9, summary.toString());
        assertTrue(summary.get("final_loss").asDouble() < 0.05, summary.toString());
    }

    @Test
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    void shouldModelTextWellBelowItsUnigramEntropy() throws IOException {
        Path text = Path.of("/usr/share/common-licenses/GPL-3");
        Assumptions.assumeTrue(Files.isRegularFile(text), "no " + text + " on this machine");

        JsonNode summary = train("configs/gpt-text.conf", "train.steps=200", "train.eval_every=0", "checkpoint.every=0");

        double entropy = summary.get("unigram_entropy").asDouble();
        assertTrue(summary.get("test_loss").asDouble() < entropy - 0.5, summary.toString());
    }

    @Test
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    void shouldTrainTheGptExampleSplitOverTwoDevicesOnTheLossTrajectoryOfOne() throws IOException {
        String[] shortRun = {"train.steps=12", "train.log_every=1", "train.eval_every=0"};
        train(runs.resolve("one"), "configs/gpt-addition.conf", shortRun);
        List<String> split = new ArrayList<>(List.of(shortRun));
        // two pipeline stages of one device each: the second block, the final norm and the head on device 0:1
        split.add("parallel.devices=2");
        split.add("parallel.pipeline=2");
        split.add("parallel.stages={\"block1.\"=1, \"ln_final.\"=1, \"head.\"=1}");
        train(runs.resolve("two"), "configs/gpt-addition.conf", split.toArray(String[]::new));

        List<Double> one = losses(runs.resolve("one"));
        assertEquals(12, one.size());
        assertEquals(one, losses(runs.resolve("two")));
    }

    @Test
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    void shouldTrainTheGptExampleInFourStagesOnTwoDevicesWithZbVAndInterleaved1f1bOnTheLossTrajectoryOfOne()
            throws IOException {
        String[] shortRun = {"train.steps=4", "train.log_every=1", "train.eval_every=0", "train.micro_batches=4",
                "train.batch_size=16"};
        train(runs.resolve("one"), "configs/gpt-addition.conf", shortRun);
        List<Double> one = losses(runs.resolve("one"));
        assertEquals(4, one.size());
        // stages: embeddings | block 0 | block 1 | final norm and head; the V puts 0 and 3 on device 0:0,
        // the loop 0 and 2
        for (String schedule : List.of("schedule=zb-v", "schedule=interleaved-1f1b, chunks=2")) {
            List<String> split = new ArrayList<>(List.of(shortRun));
            split.add("parallel={devices=2, pipeline=2, " + schedule
                    + ", stages={\"block0.\"=1, \"block1.\"=2, \"ln_final.\"=3, \"head.\"=3}}");
            Path run = runs.resolve(schedule.substring("schedule=".length(), schedule.indexOf(',') < 0
                    ? schedule.length() : schedule.indexOf(',')));
            train(run, "configs/gpt-addition.conf", split.toArray(String[]::new));
            assertEquals(one, losses(run), schedule);
        }
    }

    private static List<Double> losses(Path runDir) throws IOException {
        List<Double> losses = new ArrayList<>();
        for (String line : Files.readAllLines(runDir.resolve("metrics.jsonl"))) {
            JsonNode node = new ObjectMapper().readTree(line);
            if (node.has("loss")) {
                losses.add(node.get("loss").asDouble());
            }
        }
        return losses;
    }
}
