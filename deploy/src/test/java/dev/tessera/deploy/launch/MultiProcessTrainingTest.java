package dev.tessera.deploy.launch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import dev.tessera.deploy.checkpoint.Checkpoint;
import dev.tessera.deploy.checkpoint.CheckpointStore;
import dev.tessera.deploy.config.ConfigLoader;
import dev.tessera.deploy.config.ModelRegistry;
import dev.tessera.deploy.config.RunConfig;
import dev.tessera.deploy.run.MetricsLog;
import dev.tessera.deploy.run.Progress;
import dev.tessera.deploy.run.RunDirectory;
import dev.tessera.deploy.train.Trainer;
import dev.tessera.tensor.Tolerance;
import dev.tessera.worker.transport.DriverDirectories;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@code tessera train} with {@code parallel.processes} > 1: real worker OS processes, the
 * coordinator in the test JVM, Aeron IPC between the workers. The run directory (every metrics
 * line: loss, gradient norm, learning rate, evaluations; the checkpoints' parameters and optimizer
 * state; the summary's final numbers and counted bytes) is bit for bit what the same config writes
 * on virtual devices in one process. Afterwards no worker runs and no driver directory is left.
 * (Data parallelism as 2 processes is {@link LaunchCommandTest}'s case, through the command line.)
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class MultiProcessTrainingTest {
    static final String BASE = "model.type = tiny-linear\n"
            + "train { batch_size = 8, micro_batches = 2, seed = 3, steps = 4, log_every = 1, eval_every = 2 }\n"
            + "checkpoint { every = 2, keep = 2 }\n"
            // workers of a few steps start faster with the client compiler only and one GC thread
            + "parallel.worker_jvm_options = [\"-XX:TieredStopAtLevel=1\", \"-XX:+UseSerialGC\"]\n"
            + "optimizer { lr = 0.05, clip_norm = 1.0, schedule { type = cosine, warmup_steps = 2, min_lr = 0.001 } }\n";

    @TempDir
    Path dir;

    @AfterEach
    void nothingLeft() throws Exception {
        assertNoWorkerLeft();
    }

    static void assertNoWorkerLeft() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        List<ProcessHandle> workers = workers();
        while (!workers.isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(100);
            workers = workers();
        }
        assertEquals(List.of(), workers.stream().map(ProcessHandle::pid).toList(), "worker processes still running");
        String own = "tessera-aeron-" + ProcessHandle.current().pid() + "-";
        Path root = Path.of("/dev/shm").toFile().isDirectory() ? Path.of("/dev/shm")
                : Path.of(System.getProperty("java.io.tmpdir"));
        assertEquals(List.of(), DriverDirectories.all(root).stream()
                .filter(p -> p.getFileName().toString().startsWith(own)).toList(), "driver directories left");
    }

    /** This JVM's worker processes (by their label: Linux shows only the first 4 KiB of a command line). */
    static List<ProcessHandle> workers() {
        return ProcessHandle.current().descendants().filter(ProcessHandle::isAlive)
                .filter(p -> p.info().commandLine().map(c -> c.contains("-D" + WorkerLauncher.LABEL + "=")).orElse(false))
                .toList();
    }

    static RunConfig config(String... overrides) {
        return new ConfigLoader(ModelRegistry.fromClassPath()).load(ConfigFactory.parseString(BASE), List.of(overrides));
    }

    @ParameterizedTest(name = "{0} as {2} processes")
    @CsvSource(delimiter = '|', value = {
        "two stages, 1F1B|parallel={devices=2,pipeline=2,stages={add=1},schedule=1f1b}|2",
        "data 2 x two stages, ZB-H1|parallel={devices=4,data=2,pipeline=2,stages={add=1},schedule=zb-h1}|2",
        "data 2 x tensor 2|parallel={devices=4,data=2,tensor=2,hints={\"fc.weight\"=\"(B, S(1))\",\"fc.bias\"=\"(B, S(0))\"}}|4"})
    void shouldWriteTheRunDirectoryOfTheVirtualDeviceRunBitForBit(String name, String layout, int processes)
            throws Exception {
        Path virtual = dir.resolve("virtual");
        Path multi = dir.resolve("processes");
        Map<String, Object> expected = new Trainer(config(layout), RunDirectory.createFresh(virtual), Progress.silent())
                .train();
        Map<String, Object> actual = new Trainer(config(layout, "parallel.processes=" + processes),
                RunDirectory.createFresh(multi), Progress.silent()).train();

        assertEquals(numbers(virtual), numbers(multi), "metrics.jsonl");
        for (String key : List.of("initial_loss", "final_loss", "test_mse")) {
            assertEquals(expected.get(key), actual.get(key), key);
        }
        assertEquals(processes, actual.get("processes"));
        JsonNode expectedBytes = new ObjectMapper().readTree(virtual.resolve(RunDirectory.SUMMARY_FILE).toFile())
                .get("bytes_sent_per_step");
        JsonNode actualBytes = new ObjectMapper().readTree(multi.resolve(RunDirectory.SUMMARY_FILE).toFile())
                .get("bytes_sent_per_step");
        assertEquals(expectedBytes, actualBytes, "bytes sent per step");
        CheckpointStore one = new CheckpointStore(virtual, 2);
        CheckpointStore many = new CheckpointStore(multi, 2);
        assertEquals(List.of(2L, 4L), many.steps());
        for (long step : many.steps()) {
            Checkpoint a = one.load(one.pathOf(step));
            Checkpoint b = many.load(many.pathOf(step));
            Tolerance.EXACT.requireClose("parameters at step " + step, a.parameters(), b.parameters());
            Tolerance.EXACT.requireClose("optimizer state at step " + step, a.optimizerState(), b.optimizerState());
            assertEquals(a.nextBatchIndex(), b.nextBatchIndex());
        }
    }

    /** Every metrics line without its timings. */
    static List<Map<String, Object>> numbers(Path run) {
        List<Map<String, Object>> lines = new ArrayList<>();
        for (Map<String, Object> line : MetricsLog.read(run.resolve(RunDirectory.METRICS_FILE))) {
            Map<String, Object> kept = new java.util.LinkedHashMap<>(line);
            kept.keySet().removeAll(List.of("samples_per_s", "tokens_per_s", "elapsed_s"));
            lines.add(kept);
        }
        return lines;
    }
}
