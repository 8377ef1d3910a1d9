package dev.tessera.deploy.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tessera.deploy.Main;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(120)
class MainTest {
    @TempDir
    Path dir;

    private record Result(int status, String out, String err) {
        List<String> errLines() {
            return err.lines().toList();
        }
    }

    private static Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Main.execute(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private Path config(String text) throws IOException {
        return Files.writeString(dir.resolve("run.conf"), "model.type = tiny-linear\n" + text);
    }

    @Test
    void shouldPrintHelpAndVersion() {
        Result help = run("--help");
        assertEquals(0, help.status());
        assertTrue(help.out().contains("train"), help.out());

        Result trainHelp = run("train", "--help");
        assertTrue(trainHelp.out().contains("--resume") && trainHelp.out().contains("--set"), trainHelp.out());

        Result version = run("--version");
        assertEquals(0, version.status());
        assertTrue(version.out().startsWith("tessera "), version.out());
    }

    @Test
    void shouldRejectAnUnknownKeyWithOneErrorLineAndExitStatus2() throws IOException {
        Path conf = config("train.stepz = 5\n");

        Result result = run("train", conf.toString());

        assertEquals(2, result.status());
        assertEquals(1, result.errLines().size(), result.err());
        assertTrue(result.err().startsWith("error: unknown key train.stepz"), result.err());
    }

    @Test
    void shouldRejectAnIllTypedOverride() throws IOException {
        Result result = run("train", config("").toString(), "--set", "optimizer.lr=fast");

        assertEquals(2, result.status());
        assertEquals(List.of("error: optimizer.lr: expected a number, got string \"fast\" (--set optimizer.lr=fast)"),
                result.errLines());
    }

    @Test
    void shouldReportAMissingConfigAndBadArgumentsOnOneLine() {
        Result missing = run("train", dir.resolve("absent.conf").toString());
        assertEquals(2, missing.status());
        assertEquals(1, missing.errLines().size(), missing.err());
        assertTrue(missing.err().contains("absent.conf does not exist"), missing.err());

        Result badOption = run("train", "x.conf", "--frobnicate");
        assertEquals(2, badOption.status());
        assertEquals(1, badOption.errLines().size(), badOption.err());
        assertTrue(badOption.err().startsWith("error: Unknown option: '--frobnicate'"), badOption.err());
    }

    @Test
    void shouldTrainIntoTheGivenRunDirectoryAndResumeFromACheckpoint() throws IOException {
        Path conf = config("train { steps = 20, batch_size = 4, log_every = 5 }\ncheckpoint.every = 10\n");
        Path runDir = dir.resolve("runs/a");

        Result first = run("train", conf.toString(), "--run-dir", runDir.toString());

        assertEquals(0, first.status(), first.err());
        assertTrue(first.out().contains("done: 20 steps"), first.out());
        for (String file : List.of("config.conf", "metrics.jsonl", "loss.png", "summary.json", "checkpoints/ckpt-20")) {
            assertTrue(Files.exists(runDir.resolve(file)), file);
        }

        Result again = run("train", conf.toString(), "--run-dir", runDir.toString());
        assertEquals(2, again.status());
        assertTrue(again.err().contains("already holds a run"), again.err());

        Result resumed = run("train", conf.toString(), "--resume", runDir.resolve("checkpoints/ckpt-10").toString());
        assertEquals(0, resumed.status(), resumed.err());
        assertTrue(resumed.out().contains("resuming run directory"), resumed.out());
    }

    @Test
    void shouldTrainDataParallelOnTwoDevicesLikeOnOneAndResumeAcrossLayouts() throws IOException {
        Path conf = config("train { steps = 20, batch_size = 4, log_every = 1 }\ncheckpoint.every = 10\n");
        Path single = dir.resolve("runs/single");
        Path parallel = dir.resolve("runs/parallel");

        assertEquals(0, run("train", conf.toString(), "--run-dir", single.toString()).status());
        Result two = run("train", conf.toString(), "--run-dir", parallel.toString(), "--set", "parallel.devices=2",
                "--set", "parallel.data=2");

        assertEquals(0, two.status(), two.err());
        assertTrue(Files.readString(parallel.resolve("summary.json")).contains("\"layout\" : \"data 2 x tensor 1\""),
                Files.readString(parallel.resolve("summary.json")));
        // the bytes each device sent, as counted, are the plan's figure, which tessera plan prints too
        JsonNode sent = new ObjectMapper().readTree(parallel.resolve("summary.json").toFile()).get("bytes_sent_per_step");
        Result plan = run("plan", conf.toString(), "--json", "--set", "parallel.devices=2", "--set", "parallel.data=2");
        assertEquals(0, plan.status(), plan.err());
        JsonNode planned = new ObjectMapper().readTree(plan.out()).get("per_device");
        assertEquals(2, sent.size(), sent.toString());
        for (int d = 0; d < 2; d++) {
            JsonNode device = sent.get(d);
            assertTrue(device.get("planned").asLong() > 0, device.toString());
            assertEquals(device.get("planned").asDouble(), device.get("counted").asDouble(), device.toString());
            assertEquals(device.get("planned").asDouble(), planned.get(d).get("sent_bytes_per_iteration").asDouble(),
                    "tessera plan's figure for " + device);
        }
        List<Double> expected = losses(single);
        List<Double> actual = losses(parallel);
        assertEquals(20, expected.size());
        assertEquals(expected.size(), actual.size());
        for (int i = 0; i < expected.size(); i++) {
            assertEquals(expected.get(i), actual.get(i), 1e-5 * Math.abs(expected.get(i)), "loss of step " + (i + 1));
        }
        // checkpoints hold whole tensors: a two-device run continues on one device
        Result resumed = run("train", conf.toString(), "--resume", parallel.resolve("checkpoints/ckpt-10").toString());
        assertEquals(0, resumed.status(), resumed.err());
        List<Double> continued = losses(parallel);
        assertEquals(expected.get(19), continued.get(19), 1e-5 * Math.abs(expected.get(19)));
    }

    @Test
    void shouldTrainOnTwoPipelineStagesLikeOnOneDevice() throws IOException {
        Path conf = config("train { steps = 10, batch_size = 4, log_every = 1 }\n");
        Path single = dir.resolve("runs/single");
        Path staged = dir.resolve("runs/staged");

        assertEquals(0, run("train", conf.toString(), "--run-dir", single.toString()).status());
        // fc and its optimizer on device 0:0, the loss (from the add on) and its gradients on 0:1
        Result two = run("train", conf.toString(), "--run-dir", staged.toString(), "--set", "parallel.devices=2",
                "--set", "parallel.pipeline=2", "--set", "parallel.stages.add=1");

        assertEquals(0, two.status(), two.err());
        assertTrue(Files.readString(staged.resolve("summary.json")).contains("\"layout\" : \"pipeline 2 x data 1 x tensor 1\""),
                Files.readString(staged.resolve("summary.json")));
        Result plan = run("plan", conf.toString(), "--set", "parallel.devices=2", "--set", "parallel.pipeline=2",
                "--set", "parallel.stages.add=1");
        assertTrue(plan.out().contains("send/recv p0 -> p1") && plan.out().contains("send/recv p1 -> p0"), plan.out());
        List<Double> expected = losses(single);
        List<Double> actual = losses(staged);
        assertEquals(10, expected.size());
        assertEquals(expected.size(), actual.size());
        for (int i = 0; i < expected.size(); i++) {
            assertEquals(expected.get(i), actual.get(i), 1e-5 * Math.abs(expected.get(i)), "loss of step " + (i + 1));
        }
    }

    @Test
    void shouldTrainTheLayoutTheAutoSearchChoseOnTheLossTrajectoryOfOneDevice() throws IOException {
        Path conf = config("train { steps = 8, batch_size = 4, log_every = 1 }\n");
        Path single = dir.resolve("runs/single");
        Path auto = dir.resolve("runs/auto");

        assertEquals(0, run("train", conf.toString(), "--run-dir", single.toString()).status());
        // a budget below the replicated layout's peak makes the search split something
        Result two = run("train", conf.toString(), "--run-dir", auto.toString(), "--set", "parallel.devices=2",
                "--set", "parallel.tensor=2", "--set", "parallel.auto=true", "--set", "parallel.memory_budget=590B");

        assertEquals(0, two.status(), two.err());
        Result plan = run("plan", conf.toString(), "--set", "parallel.devices=2", "--set", "parallel.tensor=2",
                "--set", "parallel.auto=true", "--set", "parallel.memory_budget=590B");
        assertTrue(plan.out().lines().anyMatch(l -> l.contains(" parameter ") && l.contains("S(")), plan.out());
        List<Double> expected = losses(single);
        List<Double> actual = losses(auto);
        assertEquals(expected.size(), actual.size());
        for (int i = 0; i < expected.size(); i++) {
            assertEquals(expected.get(i), actual.get(i), 1e-5 * Math.abs(expected.get(i)), "loss of step " + (i + 1));
        }
    }

    @Test
    void shouldRejectConflictingLayoutHintsNamingOpTensorsAndLayoutsBeforeCreatingARunDirectory() throws IOException {
        Path conf = config("train { steps = 5, batch_size = 4 }\nparallel { devices = 2, data = 1, tensor = 2 }\n"
                + "parallel.hints { \"fc.weight\" = \"(B, S(0))\", \"fc.weight.adam_m\" = \"(B, S(1))\" }\n");
        Path runDir = dir.resolve("runs/conflict");

        Result result = run("train", conf.toString(), "--run-dir", runDir.toString());

        assertEquals(2, result.status(), result.err());
        assertEquals(1, result.errLines().size(), result.err());
        String message = result.err();
        assertTrue(message.contains("'fc.weight.update'") && message.contains("'fc.weight'") && message.contains("'fc.weight.adam_m'")
                && message.contains("(B, S(0))") && message.contains("(B, S(1))") && message.contains("hint"), message);
        assertFalse(Files.exists(runDir), "no run directory for a config that cannot run");
    }

    private static List<Double> losses(Path runDir) throws IOException {
        List<Double> losses = new java.util.ArrayList<>();
        for (String line : Files.readAllLines(runDir.resolve("metrics.jsonl"))) {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"loss\":([-0-9.eE]+)").matcher(line);
            if (m.find()) {
                losses.add(Double.parseDouble(m.group(1)));
            }
        }
        return losses;
    }

    @Test
    void shouldReportATruncatedCheckpointWithoutAStackTrace() throws IOException {
        Path conf = config("train { steps = 10, batch_size = 4 }\ncheckpoint.every = 5\n");
        Path runDir = dir.resolve("run");
        assertEquals(0, run("train", conf.toString(), "--run-dir", runDir.toString()).status());
        try (RandomAccessFile file = new RandomAccessFile(runDir.resolve("checkpoints/ckpt-10/model.safetensors").toFile(), "rw")) {
            file.setLength(10);
        }

        Result result = run("train", conf.toString(), "--resume", runDir.toString());

        assertEquals(2, result.status());
        assertEquals(1, result.errLines().size(), result.err());
        assertTrue(result.err().contains("ckpt-10 is corrupt") && result.err().contains("model.safetensors is truncated"),
                result.err());
        assertTrue(result.err().contains("ckpt-5"), result.err());
        assertFalse(result.err().contains("\tat "), result.err());
    }

    @Test
    void shouldReportAModelThatCannotBeCreatedAndLeaveNoRunDirectory() throws IOException {
        Path runDir = dir.resolve("runs/never");

        Result result = run("train", config("").toString(), "--set", "model.features=0", "--run-dir", runDir.toString());

        assertEquals(2, result.status());
        assertEquals(List.of("error: model tiny-linear: model.features must be at least 1, got 0"), result.errLines());
        assertFalse(Files.exists(runDir), "nothing written for a run that never started");
    }

    @Test
    void shouldPrintTheStackTraceWithDebug() throws IOException {
        Result result = run("train", config("train.steps = lots\n").toString(), "--debug");

        assertEquals(2, result.status());
        assertTrue(result.err().startsWith("error: train.steps"), result.err());
        assertTrue(result.err().contains("\tat "), result.err());
    }
}
