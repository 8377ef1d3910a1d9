package dev.tessera.deploy.launch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tessera.deploy.run.Progress;
import dev.tessera.deploy.run.RunDirectory;
import dev.tessera.deploy.train.Trainer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code tessera train --trace} with {@code parallel.processes = 2}: the coordinator in the test
 * JVM, two real worker processes. The one trace file has a row per worker with its device, the
 * same actions per actor as the same config traced on 2 virtual devices in one process, every
 * action of an iteration inside the coordinator's window of its chunk, and the members of each
 * all-reduce overlapping on the aligned clock; the summary has each device's register use.
 * Afterwards no worker runs and no driver directory is left.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class MultiProcessTraceTest {
    private static final String DATA_PARALLEL = "parallel={devices=2,data=2}";
    private static final String[] RUN = {"train.steps=3", "train.eval_every=0", "checkpoint.every=0"};
    private static final int MICRO_BATCHES = 2;

    @TempDir
    Path dir;

    @AfterEach
    void nothingLeft() throws Exception {
        MultiProcessTrainingTest.assertNoWorkerLeft();
    }

    /** One traced action. */
    private record Action(int pid, String device, String op, String category, String actor, long iteration,
                          int microBatch, double start, double end) {
        String key() {
            return device + " " + actor + " " + op + " " + category;
        }

        Action as(String otherOp, String otherCategory) {
            return new Action(pid, device, otherOp, otherCategory, actor, iteration, microBatch, start, end);
        }
    }

    @Test
    void shouldWriteOneTraceOfBothWorkersOnTheCoordinatorsClockWithTheActionsOfTheVirtualDeviceRun()
            throws IOException {
        Path virtual = dir.resolve("virtual");
        Path processes = dir.resolve("processes");
        new Trainer(MultiProcessTrainingTest.config(with(DATA_PARALLEL)), RunDirectory.createFresh(virtual),
                Progress.silent(), true).train();
        new Trainer(MultiProcessTrainingTest.config(with(DATA_PARALLEL, "parallel.processes=2")),
                RunDirectory.createFresh(processes), Progress.silent(), true).train();

        JsonNode expected = new ObjectMapper().readTree(virtual.resolve(Trainer.TRACE_FILE).toFile());
        JsonNode actual = new ObjectMapper().readTree(processes.resolve(Trainer.TRACE_FILE).toFile());
        Map<Integer, String> names = metadata(actual, "process_name", "name");
        assertEquals("coordinator", names.get(0), names.toString());
        assertTrue(names.get(1).matches("worker-0 \\(pid \\d+\\)"), names.toString());
        assertTrue(names.get(2).matches("worker-1 \\(pid \\d+\\)"), names.toString());
        assertEquals(3, names.size(), names.toString());
        assertEquals(Map.of("0/0", "steps", "1/0", "0:0", "2/1", "0:1"), threadNames(actual));

        List<Action> traced = actions(actual);
        for (int pid : List.of(1, 2)) {
            Set<String> phases = traced.stream().filter(a -> a.pid() == pid).map(Action::category)
                    .collect(Collectors.toSet());
            assertTrue(phases.containsAll(List.of("F", "B", "W", "U")), "worker row " + pid + " computed: " + phases);
        }
        // a transfer between the processes' devices runs as a receive in the consumer's process
        // and a send added after the producer in the other (docs/processes.md); everything else is the same
        List<Action> sends = traced.stream().filter(a -> a.op().equals("RemoteSend")).toList();
        List<Action> asTransfers = traced.stream().filter(a -> !a.op().equals("RemoteSend"))
                .map(a -> a.op().equals("RemoteReceive") ? a.as("Transfer", "transfer") : a).toList();
        assertEquals(counts(actions(expected)), counts(asTransfers), "actions per device, actor, op and phase");
        assertEquals(traced.stream().filter(a -> a.op().equals("RemoteReceive")).count(), sends.size(),
                "a send per receive");

        Map<Integer, JsonNode> clocks = metadataArgs(actual, "process_labels");
        assertEquals(Set.of(1, 2), clocks.keySet());
        Map<Integer, Double> errorMicros = new HashMap<>();
        for (int pid : List.of(1, 2)) {
            long offset = clocks.get(pid).get("clockOffsetNanos").asLong();
            long error = clocks.get(pid).get("clockErrorNanos").asLong();
            // one host: every JVM reads the same monotonic clock, so the true offset is 0
            assertTrue(Math.abs(offset) <= error, "worker row " + pid + ": offset " + offset + " ns, error " + error);
            errorMicros.put(pid, error / 1000.0 + 0.001);
        }
        List<JsonNode> windows = new ArrayList<>();
        actual.get("traceEvents").forEach(e -> {
            if (e.get("pid").asInt() == 0 && e.get("ph").asText().equals("X")) {
                windows.add(e);
            }
        });
        assertEquals(3, windows.size(), "a chunk per logged step");
        // a step's actions are numbered from 0 in each chunk (one actor-system run), as in one process
        Map<Action, Integer> chunkOf = new HashMap<>();
        Map<String, Long> perChunk = new TreeMap<>();
        for (Action action : traced) {
            // the window it sticks out of least: windows are apart by at least the 5 clock probes between
            // them, far longer than the error of the estimate those probes make
            int chunk = 0;
            double least = Double.MAX_VALUE;
            for (int w = 0; w < windows.size(); w++) {
                double from = windows.get(w).get("ts").asDouble();
                double to = from + windows.get(w).get("dur").asDouble();
                double outside = Math.max(0, from - action.start()) + Math.max(0, action.end() - to);
                if (outside < least) {
                    least = outside;
                    chunk = w;
                }
            }
            assertTrue(least <= errorMicros.get(action.pid()), action + " lies " + least + " us outside the closest "
                    + "window of the coordinator, " + windows.get(chunk));
            chunkOf.put(action, chunk);
            perChunk.merge(chunk + " " + action.key(), 1L, Long::sum);
        }
        for (Map.Entry<String, Long> count : perChunk.entrySet()) {
            JsonNode window = windows.get(Integer.parseInt(count.getKey().substring(0, count.getKey().indexOf(' '))));
            assertEquals(window.get("args").get("iterations").asLong() * MICRO_BATCHES, count.getValue(),
                    "actions of " + count.getKey() + " in the window " + window);
        }
        assertAllReduceMembersOverlap(traced, chunkOf, errorMicros.get(1) + errorMicros.get(2));

        JsonNode summary = new ObjectMapper().readTree(processes.resolve(RunDirectory.SUMMARY_FILE).toFile());
        JsonNode oneProcess = new ObjectMapper().readTree(virtual.resolve(RunDirectory.SUMMARY_FILE).toFile());
        JsonNode registers = summary.get("register_bytes_per_device");
        assertEquals(2, registers.size(), summary.toString());
        for (int d = 0; d < 2; d++) {
            JsonNode device = registers.get(d);
            assertEquals("0:" + d, device.get("device").asText());
            long peak = device.get("peak_in_use").asLong();
            long held = device.get("held").asLong();
            assertTrue(peak > 0 && peak <= held && held <= device.get("allocated").asLong(), device.toString());
            assertEquals(oneProcess.get("register_bytes_per_device").get(d).get("allocated"), device.get("allocated"));
        }
    }

    /**
     * A ring member cannot finish before every member started (it needs their parts), so on one
     * clock the members of each all-reduce of an iteration overlap, up to the alignment's error.
     */
    private static void assertAllReduceMembersOverlap(List<Action> traced, Map<Action, Integer> chunkOf,
                                                      double toleranceMicros) {
        Map<String, List<Action>> members = new TreeMap<>();
        for (Action action : traced) {
            if (action.op().contains("all_reduce")) {
                String group = action.actor().substring(0, action.actor().lastIndexOf('@'));
                members.computeIfAbsent(group + " chunk " + chunkOf.get(action) + " " + action.iteration() + "/"
                        + action.microBatch(),
                        k -> new ArrayList<>()).add(action);
            }
        }
        assertFalse(members.isEmpty(), "no all-reduce traced");
        for (Map.Entry<String, List<Action>> group : members.entrySet()) {
            List<Action> all = group.getValue();
            assertEquals(Set.of(1, 2), all.stream().map(Action::pid).collect(Collectors.toSet()), group.getKey());
            double lastStart = all.stream().mapToDouble(Action::start).max().orElseThrow();
            double firstEnd = all.stream().mapToDouble(Action::end).min().orElseThrow();
            assertTrue(lastStart <= firstEnd + toleranceMicros, group.getKey() + ": " + all);
        }
    }

    private static String[] with(String... more) {
        List<String> all = new ArrayList<>(List.of(RUN));
        all.addAll(List.of(more));
        return all.toArray(String[]::new);
    }

    private static Map<String, Long> counts(List<Action> actions) {
        return actions.stream().collect(Collectors.groupingBy(Action::key, TreeMap::new, Collectors.counting()));
    }

    /** Every action of the device rows (pid 1 and up), its device by the row's thread names. */
    private static List<Action> actions(JsonNode trace) {
        Map<String, String> threads = threadNames(trace);
        List<Action> actions = new ArrayList<>();
        for (JsonNode event : trace.get("traceEvents")) {
            int pid = event.get("pid").asInt();
            if (pid >= 1 && event.get("ph").asText().equals("X")) {
                JsonNode args = event.get("args");
                double start = event.get("ts").asDouble();
                String device = threads.get(pid + "/" + event.get("tid").asInt());
                actions.add(new Action(pid, device, event.get("name").asText(),
                        event.get("cat").asText(), args.get("actor").asText(), args.get("iteration").asLong(),
                        args.get("microBatch").asInt(), start, start + event.get("dur").asDouble()));
            }
        }
        return actions;
    }

    private static Map<String, String> threadNames(JsonNode trace) {
        Map<String, String> names = new TreeMap<>();
        for (JsonNode event : trace.get("traceEvents")) {
            if (event.get("name").asText().equals("thread_name")) {
                names.put(event.get("pid").asInt() + "/" + event.get("tid").asInt(),
                        event.get("args").get("name").asText());
            }
        }
        return names;
    }

    private static Map<Integer, String> metadata(JsonNode trace, String name, String arg) {
        Map<Integer, String> values = new TreeMap<>();
        metadataArgs(trace, name).forEach((pid, args) -> values.put(pid, args.get(arg).asText()));
        return values;
    }

    private static Map<Integer, JsonNode> metadataArgs(JsonNode trace, String name) {
        Map<Integer, JsonNode> values = new TreeMap<>();
        for (JsonNode event : trace.get("traceEvents")) {
            if (event.get("ph").asText().equals("M") && event.get("name").asText().equals(name)) {
                values.put(event.get("pid").asInt(), event.get("args"));
            }
        }
        return values;
    }
}
