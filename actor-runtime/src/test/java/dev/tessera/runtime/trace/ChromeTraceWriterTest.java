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
import dev.tessera.runtime.plan.Plan;
import dev.tessera.runtime.plan.PlanBuilder;
import java.io.IOException;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
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
}
