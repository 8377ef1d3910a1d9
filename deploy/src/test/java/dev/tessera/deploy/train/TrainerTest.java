package dev.tessera.deploy.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import dev.tessera.deploy.InputException;
import dev.tessera.deploy.checkpoint.CheckpointStore;
import dev.tessera.deploy.config.ConfigLoader;
import dev.tessera.deploy.config.ModelRegistry;
import dev.tessera.deploy.config.RunConfig;
import dev.tessera.deploy.run.MetricsLog;
import dev.tessera.deploy.run.Progress;
import dev.tessera.deploy.run.RunDirectory;
import dev.tessera.worker.exec.NonFiniteException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@Timeout(120)
class TrainerTest {
    private static final String BASE = "model.type = tiny-linear\n"
            + "train { batch_size = 8, micro_batches = 2, seed = 3 }\n"
            + "optimizer { lr = 0.05, schedule { type = cosine, warmup_steps = 5, min_lr = 0.001 } }\n";

    /** The manual split of the model over two devices: the op "add" and what follows it on stage 1, device 0:1. */
    private static final String TWO_STAGES = "parallel={devices=2,pipeline=2,stages={add=1}}";

    @TempDir
    Path dir;

    private static RunConfig config(String... overrides) {
        return new ConfigLoader(ModelRegistry.fromClassPath()).load(ConfigFactory.parseString(BASE), List.of(overrides));
    }

    private static List<Map<String, Object>> trainLines(Path run) {
        return MetricsLog.read(run.resolve(RunDirectory.METRICS_FILE)).stream().filter(l -> l.containsKey("loss")).toList();
    }

    @Test
    void shouldTrainAndWriteConfigMetricsChartSummaryAndCheckpoints() throws IOException {
        RunConfig config = config("train.steps=60", "train.log_every=10", "train.eval_every=20",
                "checkpoint.every=20", "checkpoint.keep=2");
        Path run = dir.resolve("run");

        Map<String, Object> summary = new Trainer(config, RunDirectory.createFresh(run), Progress.silent()).train();

        assertTrue(Files.readString(run.resolve("config.conf")).contains("tiny-linear"));
        List<Map<String, Object>> lines = MetricsLog.read(run.resolve("metrics.jsonl"));
        assertEquals(List.of(1, 10, 20, 30, 40, 50, 60), trainLines(run).stream().map(l -> l.get("step")).toList());
        for (String key : List.of("step", "loss", "lr", "grad_norm", "samples_per_s", "elapsed_s")) {
            assertTrue(lines.get(0).containsKey(key), key + " in " + lines.get(0));
        }
        assertEquals(List.of(20, 40, 60), lines.stream().filter(l -> l.containsKey("test_mse")).map(l -> l.get("step")).toList());
        byte[] png = Files.readAllBytes(run.resolve("loss.png"));
        assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, Arrays.copyOf(png, 4));

        JsonNode written = new ObjectMapper().readTree(run.resolve("summary.json").toFile());
        for (String key : List.of("steps", "initial_loss", "final_loss", "samples_per_s", "wall_s", "parameters", "test_mse")) {
            assertTrue(written.has(key), key + " in " + written);
        }
        assertEquals(60, written.get("steps").asInt());
        assertEquals(4 * 2 + 2, written.get("parameters").asInt());
        assertTrue(written.get("final_loss").asDouble() < written.get("initial_loss").asDouble() / 10, written.toString());
        assertEquals(summary.get("test_mse"), written.get("test_mse").asDouble());
        assertEquals(List.of(40L, 60L), new CheckpointStore(run, 2).steps());
    }

    @Test
    void shouldResumeFromACheckpointOnExactlyTheSameLossTrajectory() throws IOException {
        Path whole = dir.resolve("whole");
        new Trainer(config("train.steps=30", "train.log_every=1", "checkpoint.every=10", "checkpoint.keep=5"),
                RunDirectory.createFresh(whole), Progress.silent()).train();

        // The interrupted run: same config, stopped by hand after the checkpoint of step 10.
        Path interrupted = dir.resolve("interrupted");
        new Trainer(config("train.steps=30", "train.log_every=1", "checkpoint.every=10", "checkpoint.keep=5"),
                RunDirectory.createFresh(interrupted), Progress.silent()).train();
        new CheckpointStore(interrupted, 5).discardAfter(10);
        Files.writeString(interrupted.resolve("checkpoints/latest"), "ckpt-10\n");

        new Trainer(config("train.steps=30", "train.log_every=1", "checkpoint.every=10", "checkpoint.keep=5"),
                RunDirectory.existing(interrupted), Progress.silent()).resume(null);

        List<Map<String, Object>> expected = trainLines(whole);
        List<Map<String, Object>> actual = trainLines(interrupted);
        assertEquals(30, actual.size());
        for (int i = 0; i < expected.size(); i++) {
            for (String key : List.of("step", "loss", "lr", "grad_norm")) {
                assertEquals(expected.get(i).get(key), actual.get(i).get(key), key + " at line " + i);
            }
        }
        CheckpointStore a = new CheckpointStore(whole, 5);
        CheckpointStore b = new CheckpointStore(interrupted, 5);
        assertEquals(a.load(a.pathOf(30)).parameters(), b.load(b.pathOf(30)).parameters());
        assertEquals(a.load(a.pathOf(30)).optimizerState(), b.load(b.pathOf(30)).optimizerState());
    }

    @Test
    void shouldRefuseToResumeWithAConfigThatChangesTheTrajectory() {
        Path run = dir.resolve("run");
        new Trainer(config("train.steps=10", "checkpoint.every=5"), RunDirectory.createFresh(run), Progress.silent()).train();

        InputException e = assertThrows(InputException.class, () -> new Trainer(
                config("train.steps=10", "checkpoint.every=5", "optimizer.lr=0.5"),
                RunDirectory.existing(run), Progress.silent()).resume(null));

        assertTrue(e.getMessage().contains("optimizer.lr was 0.05, now 0.5"), e.getMessage());
    }

    @Test
    void shouldRefuseToOverwriteAnExistingRun() {
        Path run = dir.resolve("run");
        new Trainer(config("train.steps=2"), RunDirectory.createFresh(run), Progress.silent()).train();

        InputException e = assertThrows(InputException.class, () -> RunDirectory.createFresh(run));

        assertTrue(e.getMessage().contains("already holds a run"), e.getMessage());
    }

    @Test
    void shouldRefuseARunDirectoryInUseByAnotherTraining() {
        Path run = dir.resolve("run");
        RunDirectory directory = RunDirectory.createFresh(run);
        RunDirectory.Lock held = directory.lock();
        try {
            InputException e = assertThrows(InputException.class,
                    () -> new Trainer(config("train.steps=2"), directory, Progress.silent()).train());
            assertTrue(e.getMessage().contains("in use by another training"), e.getMessage());
        } finally {
            held.release();
        }
        new Trainer(config("train.steps=2"), directory, Progress.silent()).train();
    }

    @Test
    void shouldStopWithTheStepAndOpWhenTheLossDiverges() throws IOException {
        Path run = dir.resolve("run");
        Trainer trainer = new Trainer(config("train.steps=200", "optimizer.type=sgd", "optimizer.lr=1000",
                "optimizer.schedule.type=constant"), RunDirectory.createFresh(run), Progress.silent());

        NonFiniteException e = assertThrows(NonFiniteException.class, trainer::train);

        assertTrue(e.getMessage().contains("step"), e.getMessage());
        try (Stream<String> lines = Files.lines(run.resolve("metrics.jsonl"))) {
            assertTrue(lines.count() >= 1, "the steps before the divergence stay logged");
        }
    }

    @Test
    void shouldTrainOnTwoStagesOfOneDeviceEachOnTheLossTrajectoryOfOne() {
        Path one = dir.resolve("one");
        Path two = dir.resolve("two");
        new Trainer(config("train.steps=12", "train.log_every=1", "train.eval_every=5"), RunDirectory.createFresh(one),
                Progress.silent()).train();
        new Trainer(config("train.steps=12", "train.log_every=1", "train.eval_every=5", TWO_STAGES),
                RunDirectory.createFresh(two), Progress.silent()).train();

        List<Object> expected = trainLines(one).stream().map(l -> l.get("loss")).toList();
        assertEquals(12, expected.size());
        assertEquals(expected, trainLines(two).stream().map(l -> l.get("loss")).toList());
    }

    @ParameterizedTest(name = "parallel.schedule = {0}")
    @ValueSource(strings = {"gpipe", "1f1b", "1f1b-2bp", "zb-h2", "auto"})
    void shouldTrainTwoStagesFollowingAPipelineScheduleOnTheLossTrajectoryOfOneDevice(String schedule) {
        Path one = dir.resolve("one");
        Path two = dir.resolve("two");
        String[] run = {"train.steps=6", "train.log_every=1", "train.eval_every=0", "train.micro_batches=4"};
        new Trainer(config(run), RunDirectory.createFresh(one), Progress.silent()).train();
        List<String> scheduled = new java.util.ArrayList<>(List.of(run));
        scheduled.add(TWO_STAGES);
        scheduled.add("parallel.schedule=" + schedule);
        new Trainer(config(scheduled.toArray(String[]::new)), RunDirectory.createFresh(two), Progress.silent()).train();

        List<Object> expected = trainLines(one).stream().map(l -> l.get("loss")).toList();
        assertEquals(6, expected.size());
        assertEquals(expected, trainLines(two).stream().map(l -> l.get("loss")).toList());
    }

    @ParameterizedTest(name = "parallel.auto_stage_times = {0}")
    @ValueSource(strings = {"measured", "modeled"})
    void shouldTrainWithTheAutoScheduleSearchedWithMeasuredOrModeledStageTimes(String times) {
        Path one = dir.resolve("one");
        Path two = dir.resolve("two");
        String[] run = {"train.steps=4", "train.log_every=1", "train.eval_every=0", "train.micro_batches=4"};
        new Trainer(config(run), RunDirectory.createFresh(one), Progress.silent()).train();
        java.io.ByteArrayOutputStream printed = new java.io.ByteArrayOutputStream();
        List<String> scheduled = new java.util.ArrayList<>(List.of(run));
        scheduled.add(TWO_STAGES);
        scheduled.add("parallel.schedule=auto");
        scheduled.add("parallel.auto_stage_times=" + times);
        new Trainer(config(scheduled.toArray(String[]::new)), RunDirectory.createFresh(two),
                Progress.forConsole(new java.io.PrintStream(printed, true, java.nio.charset.StandardCharsets.UTF_8))).train();
        List<String> notes = printed.toString(java.nio.charset.StandardCharsets.UTF_8).lines().toList();

        assertEquals(trainLines(one).stream().map(l -> l.get("loss")).toList(),
                trainLines(two).stream().map(l -> l.get("loss")).toList(), "the probe does not train the run");
        String expected = times.equals("measured") ? "stage times two traced iterations of 1F1B measured"
                : "modeled stage costs";
        assertTrue(notes.stream().anyMatch(n -> n.startsWith("auto schedule: ") && n.contains(expected)), notes.toString());
    }

    @ParameterizedTest(name = "parallel.schedule = {0}")
    @ValueSource(strings = {"1f1b", "zb-v"})
    void shouldTrainStagesCutByTheCostModelFollowingASchedule(String schedule) {
        Path one = dir.resolve("one");
        Path two = dir.resolve("two");
        String[] run = {"train.steps=6", "train.log_every=1", "train.eval_every=0", "train.micro_batches=4"};
        new Trainer(config(run), RunDirectory.createFresh(one), Progress.silent()).train();
        List<String> scheduled = new java.util.ArrayList<>(List.of(run));
        scheduled.add("parallel={devices=2,pipeline=2}");
        scheduled.add("parallel.schedule=" + schedule);
        new Trainer(config(scheduled.toArray(String[]::new)), RunDirectory.createFresh(two), Progress.silent()).train();

        List<Object> expected = trainLines(one).stream().map(l -> l.get("loss")).toList();
        assertEquals(6, expected.size());
        assertEquals(expected, trainLines(two).stream().map(l -> l.get("loss")).toList());
    }

    @ParameterizedTest(name = "parallel.schedule = {0}")
    @ValueSource(strings = {"zb-h1", "zb-h2"})
    void shouldTrainTwoStagesWithPostValidatedStepsOnTheLossTrajectoryOfSynchronisedStepsOnOneDevice(String schedule) {
        Path one = dir.resolve("one");
        Path two = dir.resolve("two");
        String[] run = {"train.steps=6", "train.log_every=1", "train.eval_every=0", "train.micro_batches=4",
                "optimizer.clip_norm=0.5"};
        new Trainer(config(run), RunDirectory.createFresh(one), Progress.silent()).train();
        List<String> scheduled = new java.util.ArrayList<>(List.of(run));
        scheduled.add(TWO_STAGES);
        scheduled.add("parallel.schedule=" + schedule);
        scheduled.add("optimizer.step_validation=post-validation");
        Map<String, Object> summary = new Trainer(config(scheduled.toArray(String[]::new)),
                RunDirectory.createFresh(two), Progress.silent()).train();
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> registers = (List<Map<String, Object>>) summary.get("register_bytes_per_device");
        assertEquals(2, registers.size(), summary.toString());
        for (Map<String, Object> device : registers) {
            long peak = ((Number) device.get("peak_in_use")).longValue();
            long held = ((Number) device.get("held")).longValue();
            assertTrue(peak > 0 && peak <= held && held <= ((Number) device.get("allocated")).longValue(),
                    device.toString());
        }

        List<List<Object>> expected = trainLines(one).stream().map(l -> List.of(l.get("loss"), l.get("grad_norm"))).toList();
        assertEquals(6, expected.size());
        assertEquals(expected, trainLines(two).stream().map(l -> List.of(l.get("loss"), l.get("grad_norm"))).toList());
    }

    @Test
    void shouldTrainTwoDataParallelStagesFollowingASchedule() {
        Path dataflow = dir.resolve("dataflow");
        Path scheduled = dir.resolve("scheduled");
        String[] run = {"train.steps=4", "train.log_every=1", "train.eval_every=0", "train.micro_batches=4",
                "parallel={devices=4,data=2,pipeline=2,stages={add=1}}"};
        new Trainer(config(run), RunDirectory.createFresh(dataflow), Progress.silent()).train();
        List<String> withSchedule = new java.util.ArrayList<>(List.of(run));
        withSchedule.add("parallel.schedule=zb-h1");
        new Trainer(config(withSchedule.toArray(String[]::new)), RunDirectory.createFresh(scheduled),
                Progress.silent()).train();

        List<Object> expected = trainLines(dataflow).stream().map(l -> l.get("loss")).toList();
        assertEquals(4, expected.size());
        assertEquals(expected, trainLines(scheduled).stream().map(l -> l.get("loss")).toList());
    }

    @Test
    void shouldWriteAChromeTraceOfEveryActionWhenAsked() throws IOException {
        Path run = dir.resolve("run");
        new Trainer(config("train.steps=3", TWO_STAGES),
                RunDirectory.createFresh(run), Progress.silent(), true).train();

        JsonNode events = new ObjectMapper().readTree(run.resolve(Trainer.TRACE_FILE).toFile()).get("traceEvents");
        List<JsonNode> actions = new java.util.ArrayList<>();
        events.forEach(event -> {
            if (event.get("ph").asText().equals("X")) {
                actions.add(event);
            }
        });
        assertTrue(actions.stream().anyMatch(e -> e.get("tid").asInt() == 1), "device 1 acted");
        // Steps 1 and 2..3 run as two chunks; each acts once per micro-batch per actor.
        assertEquals(3 * 2, actions.stream().filter(e -> e.get("args").get("actor").asText().equals("sink:loss")).count());
    }

    @Test
    void shouldRejectTheReplacedManualPlacementSayingWhatToWriteInstead() {
        InputException e = assertThrows(InputException.class,
                () -> config("runtime.devices=2", "runtime.placement=[\"fc.=1\"]"));
        assertTrue(e.getMessage().contains("unknown key runtime.placement"), e.getMessage());
        assertTrue(e.getMessage().contains("replaced by parallel.pipeline + parallel.stages"), e.getMessage());
        assertTrue(e.getMessage().contains("runtime.devices was replaced by parallel.devices"), e.getMessage());
    }
}
