package dev.tessera.deploy.launch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.deploy.Main;
import dev.tessera.worker.transport.DriverDirectories;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A dead process ends the job everywhere: a worker killed with SIGKILL makes {@code tessera train}
 * exit with status 1 within seconds, naming the worker, with no worker left and no driver
 * directory; and workers whose coordinator is killed exit on their own.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class WorkerFailureTest {
    private static final List<String> LONG_RUN = List.of("--set", "train.steps=1000000", "--set", "train.log_every=1",
            "--set", "train.eval_every=0", "--set", "parallel.devices=2", "--set", "parallel.data=2", "--set",
            "parallel.processes=2");

    @TempDir
    Path dir;

    @AfterEach
    void nothingLeft() throws Exception {
        MultiProcessTrainingTest.assertNoWorkerLeft();
    }

    @Test
    void shouldEndTheJobWithinSecondsNamingAWorkerKilledWithSigkill() throws Exception {
        Path config = Files.writeString(dir.resolve("run.conf"), MultiProcessTrainingTest.BASE);
        Path run = dir.resolve("run");
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        AtomicInteger status = new AtomicInteger(-1);
        List<String> args = new java.util.ArrayList<>(List.of("train", config.toString(), "--run-dir", run.toString()));
        args.addAll(LONG_RUN);
        Thread coordinator = new Thread(() -> status.set(Main.execute(args.toArray(String[]::new),
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8))));
        coordinator.start();
        awaitTraining(run.resolve("metrics.jsonl"));
        ProcessHandle victim = MultiProcessTrainingTest.workers().stream()
                .filter(p -> p.info().commandLine().orElse("").matches(".*-D" + WorkerLauncher.LABEL + "=[^ ]*/1 .*"))
                .findFirst().orElseThrow();

        victim.destroyForcibly();
        long killed = System.nanoTime();
        coordinator.join(TimeUnit.SECONDS.toMillis(30));
        double seconds = (System.nanoTime() - killed) / 1e9;

        assertFalse(coordinator.isAlive(), "tessera train still runs 30 s after its worker died");
        String message = err.toString(StandardCharsets.UTF_8);
        assertEquals(Main.EXIT_FAILURE, status.get(), message);
        assertTrue(message.contains("error: worker-1 (pid " + victim.pid() + ") died"), message);
        assertTrue(message.contains("SIGKILL"), message);
        assertTrue(seconds < 10, "the job took " + seconds + " s to end");
        assertTrue(MultiProcessTrainingTest.workers().isEmpty(), "worker-0 outlived the job");
    }

    @Test
    void shouldEndTheWorkersOfAKilledCoordinator() throws Exception {
        Path config = Files.writeString(dir.resolve("run.conf"), MultiProcessTrainingTest.BASE);
        Path run = dir.resolve("run");
        List<String> command = new java.util.ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString(), "-cp", System.getProperty("java.class.path")));
        command.addAll(java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(a -> a.startsWith("--add-opens") || a.startsWith("--add-modules") || a.startsWith("-Dorg.bytedeco")).toList());
        command.addAll(List.of(Main.class.getName(), "train", config.toString(), "--run-dir", run.toString()));
        command.addAll(LONG_RUN);
        Process coordinator = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(dir.resolve("coordinator.log").toFile()).start();
        try {
            awaitTraining(run.resolve("metrics.jsonl"));
            List<ProcessHandle> workers = coordinator.descendants().filter(ProcessHandle::isAlive)
                    .filter(p -> p.info().commandLine().orElse("").contains("-D" + WorkerLauncher.LABEL + "=")).toList();
            assertEquals(2, workers.size(), () -> "the coordinator's workers: " + workers);

            coordinator.destroyForcibly();
            long killed = System.nanoTime();
            for (ProcessHandle worker : workers) {
                worker.onExit().get(20, TimeUnit.SECONDS);
            }
            double seconds = (System.nanoTime() - killed) / 1e9;
            assertTrue(seconds < 10, "the workers took " + seconds + " s to leave");
            String log = Files.readString(run.resolve("workers/worker-0.log"));
            assertTrue(log.contains("the coordinator at") && log.contains("is gone"), log);
            // the dead coordinator's shared driver directory goes at the next start, as a stale one
            String dead = "tessera-aeron-" + coordinator.pid() + "-";
            Path root = Path.of("/dev/shm").toFile().isDirectory() ? Path.of("/dev/shm")
                    : Path.of(System.getProperty("java.io.tmpdir"));
            DriverDirectories.removeStale(root);
            assertEquals(List.of(), DriverDirectories.all(root).stream()
                    .filter(p -> p.getFileName().toString().startsWith(dead)).toList());
        } finally {
            coordinator.destroyForcibly();
            coordinator.descendants().forEach(ProcessHandle::destroyForcibly);
        }
    }

    /** Waits until the job has logged its second step: the workers are up and training. */
    private static void awaitTraining(Path metrics) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            if (Files.exists(metrics) && Files.readAllLines(metrics).size() >= 2) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("the job did not start training within 60 s");
    }
}
