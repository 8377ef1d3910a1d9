package dev.tessera.runtime.trace;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tessera.graph.Phase;
import dev.tessera.runtime.ActorRuntime;
import dev.tessera.runtime.RunOptions;
import dev.tessera.runtime.RunResult;
import dev.tessera.runtime.plan.ActorKind;
import dev.tessera.runtime.plan.ActorSpec;
import dev.tessera.runtime.plan.Device;
import dev.tessera.runtime.plan.Plan;
import dev.tessera.runtime.plan.PlanBuilder;
import java.io.IOException;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ChromeTraceWriterTest {
    /** One runtime for the class's runs, closed after them. */
    private static final ActorRuntime RUNTIME = ActorRuntime.inProcess();

    @AfterAll
    static void closeRuntime() {
        RUNTIME.close();
    }


    @Test
    void shouldWriteOneCompleteEventPerActionOnOneTrackPerDevice(@TempDir Path directory)
            throws IOException, InterruptedException {
        PlanBuilder builder = new PlanBuilder();
        int cpu0 = builder.device("cpu:0");
        int cpu1 = builder.device("cpu \"1\"");
        int data = builder.actor("data", "Source", cpu0).kind(ActorKind.SOURCE).output(2).add();
        int forward = builder.actor("fc.matmul", "MatMul", cpu0).phase(Phase.FORWARD).input(data, 0).output(2).add();
        int transfer = builder.actor("to-cpu1", "Transfer", cpu1).kind(ActorKind.TRANSFER).input(forward, 0).output(2).add();
        builder.actor("loss", "SoftmaxCrossEntropy", cpu1).phase(Phase.FORWARD).kind(ActorKind.SINK)
                .input(transfer, 0).add();
        Plan plan = builder.build();
        RunResult result = RUNTIME.run(plan, spec -> context -> { },
                RunOptions.of(2, 3).withTrace(true));
        Path file = directory.resolve("trace.json");

        ChromeTraceWriter.write(result.trace().orElseThrow(), file);

        JsonNode root = new ObjectMapper().readTree(Files.readString(file));
        Map<Integer, String> trackNames = new HashMap<>();
        Map<String, Integer> perActor = new HashMap<>();
        Set<String> actorStep = new HashSet<>();
        int complete = 0;
        for (JsonNode event : root.get("traceEvents")) {
            String phase = event.get("ph").asText();
            if (phase.equals("M") && event.get("name").asText().equals("thread_name")) {
                trackNames.put(event.get("tid").asInt(), event.get("args").get("name").asText());
            } else if (phase.equals("X")) {
                complete++;
                JsonNode args = event.get("args");
                String actor = args.get("actor").asText();
                int device = plan.actors().stream().filter(spec -> spec.name().equals(actor)).findFirst()
                        .orElseThrow().device();
                assertEquals(device, event.get("tid").asInt(), "track of " + actor);
                assertEquals(1, event.get("pid").asInt());
                assertTrue(event.get("ts").asDouble() >= 0, "ts " + event.get("ts"));
                assertTrue(event.get("dur").asDouble() >= 0, "dur " + event.get("dur"));
                perActor.merge(actor, 1, Integer::sum);
                assertTrue(actorStep.add(actor + "/" + args.get("iteration").asInt() + "/"
                        + args.get("microBatch").asInt()), "duplicate event " + event);
            }
        }
        assertEquals(Map.of(0, "cpu:0", 1, "cpu \"1\""), trackNames);
        assertEquals(4 * 2 * 3, complete);
        assertEquals(Map.of("data", 6, "fc.matmul", 6, "to-cpu1", 6, "loss", 6), perActor);
    }

    @Test
    void shouldLabelEventsWithOpNameAndPhaseLetter() throws IOException, InterruptedException {
        PlanBuilder builder = new PlanBuilder();
        int cpu = builder.device("cpu:0");
        int data = builder.actor("data", "Source", cpu).kind(ActorKind.SOURCE).output(1).add();
        builder.actor("w-grad", "MatMulWeightGrad", cpu).phase(Phase.BACKWARD_WEIGHT).kind(ActorKind.SINK)
                .input(data, 0).add();
        RunResult result = RUNTIME.run(builder.build(), spec -> context -> { },
                RunOptions.of(1, 1).withTrace(true));
        StringWriter text = new StringWriter();

        ChromeTraceWriter.write(result.trace().orElseThrow(), text);

        JsonNode events = new ObjectMapper().readTree(text.toString()).get("traceEvents");
        Map<String, String> categoryByName = new HashMap<>();
        for (JsonNode event : events) {
            if (event.get("ph").asText().equals("X")) {
                categoryByName.put(event.get("name").asText(), event.get("cat").asText());
            }
        }
        assertEquals(Map.of("Source", "source", "MatMulWeightGrad", "W"), categoryByName);
    }

    @Test
    void shouldWriteOneProcessRowPerWorkerWithItsDevicesClockAndTheCoordinatorsWindows() throws IOException {
        Device device0 = new Device(0, "0:0");
        Device device1 = new Device(1, "0:1");
        long origin = 1_000_000;
        TraceEvent first = new TraceEvent(device0, matMul(0, device0), 0, 0, 0, origin + 2000, origin + 3000);
        TraceEvent second = new TraceEvent(device1, matMul(1, device1), 0, 0, 0, origin + 2500, origin + 4000);
        TraceTimeline timeline = new TraceTimeline(origin, List.of(
                new TraceTimeline.Row("worker-0 (pid 10)", List.of(device0), List.of(first),
                        Optional.of(new ClockOffset(-7, 30))),
                new TraceTimeline.Row("worker-1 (pid 11)", List.of(device1), List.of(second),
                        Optional.of(new ClockOffset(1500, 20)))),
                List.of(new TraceTimeline.Window(origin, origin + 5000, 0, 1)));
        StringWriter text = new StringWriter();

        ChromeTraceWriter.write(timeline, text);

        Map<Integer, String> processNames = new HashMap<>();
        Map<String, String> threadNames = new HashMap<>();
        Map<Integer, Long> clockOffsets = new HashMap<>();
        Map<String, String> spans = new HashMap<>();
        for (JsonNode event : new ObjectMapper().readTree(text.toString()).get("traceEvents")) {
            int pid = event.get("pid").asInt();
            String name = event.get("name").asText();
            if (name.equals("process_name")) {
                processNames.put(pid, event.get("args").get("name").asText());
            } else if (name.equals("thread_name")) {
                threadNames.put(pid + "/" + event.get("tid").asInt(), event.get("args").get("name").asText());
            } else if (name.equals("process_labels")) {
                clockOffsets.put(pid, event.get("args").get("clockOffsetNanos").asLong());
                assertTrue(event.get("args").get("labels").asText().contains("error at most"), event.toString());
            } else {
                spans.put(pid + "/" + event.get("tid").asInt() + " " + name,
                        event.get("ts").asText() + "+" + event.get("dur").asText());
            }
        }
        assertEquals(Map.of(0, "coordinator", 1, "worker-0 (pid 10)", 2, "worker-1 (pid 11)"), processNames);
        assertEquals(Map.of("0/0", "steps", "1/0", "0:0", "2/1", "0:1"), threadNames);
        assertEquals(Map.of(1, -7L, 2, 1500L), clockOffsets);
        assertEquals(Map.of("0/0 RunSteps", "0.0+5.0", "1/0 MatMul", "2.0+1.0", "2/1 MatMul", "2.5+1.5"),
                spans);
    }

    private static ActorSpec matMul(int id, Device device) {
        return new ActorSpec(id, "fc.matmul@" + device.name(), "MatMul", device.index(), Optional.of(Phase.FORWARD),
                ActorKind.COMPUTE, List.of(), List.of(), List.of(), List.of());
    }
}
