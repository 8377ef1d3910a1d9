package dev.tessera.deploy.launch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tessera.deploy.Main;
import dev.tessera.deploy.run.RunDirectory;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code tessera launch --nproc N} end to end, and the transport settings it refuses before starting anything. */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class LaunchCommandTest {
    @TempDir
    Path dir;

    private record Result(int status, String out, String err) {
    }

    private static Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Main.execute(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @AfterEach
    void nothingLeft() throws Exception {
        MultiProcessTrainingTest.assertNoWorkerLeft();
    }

    @Test
    void shouldTrainAndResumeWithTwoWorkerProcessesLikeTrainOnVirtualDevices() throws Exception {
        Path config = Files.writeString(dir.resolve("run.conf"), MultiProcessTrainingTest.BASE
                + "parallel { devices = 2, data = 2 }\n");
        Path launched = dir.resolve("launched");
        Path trained = dir.resolve("trained");

        Result launch = run("launch", "--nproc", "2", config.toString(), "--run-dir", launched.toString());
        Result train = run("train", config.toString(), "--run-dir", trained.toString());

        assertEquals(0, launch.status(), launch.err());
        assertEquals(0, train.status(), train.err());
        assertTrue(launch.out().contains("done: 4 steps"), launch.out());
        assertEquals(train.out().lines().filter(l -> l.startsWith("done:")).map(l -> l.replaceAll("; results.*", ""))
                .toList(), launch.out().lines().filter(l -> l.startsWith("done:"))
                .map(l -> l.replaceAll("; results.*", "")).toList());
        assertEquals(MultiProcessTrainingTest.numbers(trained), MultiProcessTrainingTest.numbers(launched));
        JsonNode summary = new ObjectMapper().readTree(launched.resolve(RunDirectory.SUMMARY_FILE).toFile());
        assertEquals(2, summary.get("processes").asInt());
        assertTrue(Files.exists(launched.resolve("checkpoints/ckpt-4/model.safetensors")));

        // resumed from step 2 as processes: every worker takes its parts of the checkpoint, and
        // steps 3 and 4 come out as before
        Result resumed = run("launch", "--nproc", "2", config.toString(), "--resume",
                launched.resolve("checkpoints/ckpt-2").toString());
        assertEquals(0, resumed.status(), resumed.err());
        assertEquals(MultiProcessTrainingTest.numbers(trained), MultiProcessTrainingTest.numbers(launched));
        assertTrue(Files.readString(launched.resolve("workers/worker-1.log")).isEmpty()
                || !Files.readString(launched.resolve("workers/worker-1.log")).contains("Exception"));
    }

    /**
     * {@code --trace} through the command line as 2 processes: trace.json in the run directory
     * has the coordinator's row (a window per chunk of steps) and one row per worker, each with
     * actions of its own.
     */
    @Test
    void shouldWriteOneTraceWithARowPerWorkerWhenLaunchedTraced() throws Exception {
        Path config = Files.writeString(dir.resolve("run.conf"), MultiProcessTrainingTest.BASE
                + "parallel { devices = 2, data = 2 }\n");
        Path launched = dir.resolve("traced");

        Result launch = run("launch", "--nproc", "2", config.toString(), "--run-dir", launched.toString(), "--trace");

        assertEquals(0, launch.status(), launch.err());
        JsonNode events = new ObjectMapper().readTree(launched.resolve("trace.json").toFile()).get("traceEvents");
        java.util.Map<Integer, String> rows = new java.util.TreeMap<>();
        java.util.Map<Integer, Integer> actions = new java.util.TreeMap<>();
        for (JsonNode event : events) {
            int pid = event.get("pid").asInt();
            if (event.get("ph").asText().equals("M") && event.get("name").asText().equals("process_name")) {
                rows.put(pid, event.get("args").get("name").asText());
            } else if (event.get("ph").asText().equals("X")) {
                actions.merge(pid, 1, Integer::sum);
            }
        }
        assertEquals(3, rows.size(), "rows: " + rows);
        assertEquals("coordinator", rows.get(0));
        assertTrue(rows.get(1).startsWith("worker-0 (pid "), rows.toString());
        assertTrue(rows.get(2).startsWith("worker-1 (pid "), rows.toString());
        assertTrue(actions.getOrDefault(1, 0) > 0 && actions.getOrDefault(2, 0) > 0, "actions per row: " + actions);
        assertTrue(actions.getOrDefault(0, 0) >= 1, "the coordinator's window of each chunk: " + actions);
    }

    @Test
    void shouldRefuseABadAeronSettingNamingItsKeyBeforeStartingAnything() throws Exception {
        Path config = Files.writeString(dir.resolve("run.conf"), MultiProcessTrainingTest.BASE
                + "parallel { devices = 2, data = 2 }\n");
        Path run = dir.resolve("run");

        Result result = run("launch", "--nproc", "2", config.toString(), "--run-dir", run.toString(),
                "--set", "transport.aeron.mtu=1000", "--set", "transport.aeron.publication-unblock-timeout=5s");

        assertEquals(Main.EXIT_BAD_INPUT, result.status(), result.err());
        assertTrue(result.err().contains("error: transport.aeron.mtu is 1000 bytes"), result.err());
        assertTrue(result.err().contains("error: transport.aeron.publication-unblock-timeout (PT5S) must be longer "
                + "than transport.aeron.client-liveness-timeout (PT10S)"), result.err());
        assertFalse(Files.exists(run), "no run directory for a config that cannot run");
    }

    @Test
    void shouldRefuseMoreProcessesThanDevices() throws Exception {
        Path config = Files.writeString(dir.resolve("run.conf"), MultiProcessTrainingTest.BASE);

        Result result = run("launch", "--nproc", "2", config.toString(), "--run-dir", dir.resolve("run").toString());

        assertEquals(Main.EXIT_BAD_INPUT, result.status(), result.err());
        assertTrue(result.err().contains("error: parallel.processes: 2 processes for 1 device; each process owns at "
                + "least one device"), result.err());
    }
}
