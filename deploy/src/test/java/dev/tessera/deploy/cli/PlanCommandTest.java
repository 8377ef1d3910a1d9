package dev.tessera.deploy.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tessera.deploy.Main;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code tessera plan} on the test-only {@code tiny-linear} model: x [4, 4] -> fc -> squared error. */
@Timeout(60)
class PlanCommandTest {
    @TempDir
    Path dir;

    private record Result(int status, String out, String err) {
        List<String> errLines() {
            return err.lines().toList();
        }

        /** The line of the tensor table that starts with {@code name}. */
        String tensorLine(String name) {
            return out.lines().filter(l -> l.startsWith("  " + name + " ")).findFirst().orElseThrow(() ->
                    new AssertionError("no line for tensor " + name + " in\n" + out));
        }
    }

    private Result plan(String configText, String... arguments) throws IOException {
        Path conf = Files.writeString(dir.resolve("run.conf"), "model.type = tiny-linear\ntrain.batch_size = 4\n" + configText);
        List<String> args = new ArrayList<>(List.of("plan", conf.toString()));
        args.addAll(Arrays.asList(arguments));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Main.execute(args.toArray(String[]::new), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void shouldSplitTheBatchReplicateTheWeightsAndAllReduceTheirGradients() throws IOException {
        Result result = plan("", "--set", "parallel.devices=2", "--set", "parallel.data=2");

        assertEquals(0, result.status(), result.err());
        assertTrue(result.out().contains("2 device(s) as [data 2, tensor 1]"), result.out());
        assertTrue(result.tensorLine("x").contains("(S(0), B)*") && result.tensorLine("x").contains("[2, 4]"), result.out());
        assertTrue(result.tensorLine("fc.weight").contains("(B, B)"), result.out());
        assertTrue(result.tensorLine("fc.matmul").contains("(S(0), B)"), result.out());
        assertTrue(result.out().lines().anyMatch(l -> l.contains("all-reduce on data") && l.contains("into fc.weight.accumulate")),
                result.out());
        assertTrue(result.out().contains("per device and iteration"), result.out());
        assertTrue(result.out().lines().filter(l -> l.startsWith("  0:")).count() == 2, result.out());
    }

    @Test
    void shouldPlanOneDeviceWithoutConversions() throws IOException {
        Result result = plan("");

        assertEquals(0, result.status(), result.err());
        assertTrue(result.out().contains("conversions (0, 0 B per iteration"), result.out());
        assertTrue(result.tensorLine("x").contains("(B, B)*"), result.out());
    }

    @Test
    void shouldPrintTheSamePlanAsJson() throws IOException {
        Result result = plan("", "--set", "parallel.devices=2", "--set", "parallel.data=2", "--json");

        assertEquals(0, result.status(), result.err());
        JsonNode root = new ObjectMapper().readTree(result.out());
        assertEquals(2, root.get("devices").asInt());
        assertEquals("[2,1]", root.get("placements").get(0).get("hierarchy").toString());
        JsonNode weight = find(root.get("tensors"), "name", "fc.weight");
        assertEquals("(B, B)", weight.get("sbp").asText());
        assertEquals("p0", weight.get("placement").asText());
        JsonNode reduce = find(root.get("conversions"), "op", "fc.weight.accumulate");
        assertEquals("all-reduce", reduce.get("steps").get(0).get("kind").asText());
        // a [4, 2] F32 weight gradient (32 bytes) all-reduced by 2 devices: each sends 2 * (1/2) * 32 bytes
        assertEquals(64.0, reduce.get("bytes_per_iteration").asDouble());
        assertEquals(2, root.get("per_device").size());
        assertTrue(root.get("per_device").get(0).get("flops_per_iteration").asDouble() > 0);
        assertEquals(32 + 8, root.get("per_device").get(0).get("parameter_bytes").asLong());
    }

    @Test
    void shouldWriteAGraphvizPictureWithConversionNodes() throws IOException {
        Path dot = dir.resolve("plan.dot");

        Result result = plan("", "--set", "parallel.devices=2", "--set", "parallel.data=2", "--dot", dot.toString());

        assertEquals(0, result.status(), result.err());
        String picture = Files.readString(dot);
        assertTrue(picture.startsWith("digraph plan {") && picture.endsWith("}\n"), picture);
        assertTrue(picture.contains("shape=diamond") && picture.contains("all-reduce on data"), picture);
        assertTrue(picture.contains("fc.weight\\n(B, B)"), picture);
    }

    @Test
    void shouldKeepALayoutFixedByAHintWrittenAsADottedKey() throws IOException {
        Result result = plan("parallel { devices = 2, tensor = 2, hints { fc.weight = \"(B, S(1))\" } }\n");

        assertEquals(0, result.status(), result.err());
        assertTrue(result.tensorLine("fc.weight").contains("(B, S(1))*") && result.tensorLine("fc.weight").contains("[4, 1]"),
                result.out());
    }

    @Test
    void shouldSearchTheLayoutInAutoModeAndPrintItsEstimates() throws IOException {
        Result result = plan("", "--set", "parallel.devices=2", "--set", "parallel.data=2", "--set", "parallel.auto=true",
                "--set", "parallel.memory_budget=\"64 MiB\"");

        assertEquals(0, result.status(), result.err());
        assertTrue(result.out().lines().anyMatch(l -> l.startsWith("auto-parallel: the fastest of ")
                && l.endsWith("fits the memory budget of 64.00 MiB per device")), result.out());
        assertTrue(result.out().lines().anyMatch(l -> l.startsWith("estimate (cost model, busiest device): iteration ")
                && l.contains(" ms") && l.contains("peak memory ")), result.out());
        assertTrue(result.out().contains("others chosen by the auto search"), result.out());
        // the search's choices are not hints: the batch input carries no '*'
        assertTrue(!result.tensorLine("x").contains("*"), result.out());
    }

    @Test
    void shouldRejectAnAutoMemoryBudgetNoLayoutFitsNamingTheKey() throws IOException {
        Result result = plan("parallel { devices = 2, data = 2, auto = true, memory_budget = 100 }\n");

        assertEquals(2, result.status());
        assertEquals(1, result.errLines().size(), result.err());
        assertTrue(result.err().startsWith("error: parallel.memory_budget: no layout found fits the memory budget of 100 B "
                + "(100 bytes) per device"), result.err());
    }

    @Test
    void shouldRejectAMemoryBudgetThatIsNotASize() throws IOException {
        Result result = plan("parallel.memory_budget = \"lots\"\n");

        assertEquals(2, result.status());
        assertEquals(1, result.errLines().size(), result.err());
        assertTrue(result.err().startsWith("error: parallel.memory_budget: must be a size such as \"2 GiB\""), result.err());
    }

    @Test
    void shouldRejectAHintForAnUnknownTensorOnOneLine() throws IOException {
        Result result = plan("", "--set", "parallel.hints.\"fc9.weight\"=\"(B, B)\"");

        assertEquals(2, result.status());
        assertEquals(1, result.errLines().size(), result.err());
        assertTrue(result.err().startsWith("error: parallel.hints: the training graph has no tensor named 'fc9.weight'; "
                + "hints usually name parameters, which are: fc.weight, fc.bias"), result.err());
    }

    @Test
    void shouldRejectBadSbpTextOnOneLine() throws IOException {
        Result result = plan("parallel.hints { \"fc.weight\" = \"(B, X(1))\" }\n");

        assertEquals(2, result.status());
        assertEquals(List.of("error: parallel.hints.fc.weight: bad SBP '(B, X(1))': 'X(1)' is not an SBP; "
                + "write one SBP per hierarchy axis, each S(axis), B or P, e.g. (S(0), B)"), result.errLines());
    }

    @Test
    void shouldRejectAHintThatDoesNotFitItsTensor() throws IOException {
        Result result = plan("parallel.hints { \"fc.bias\" = \"(B, S(1))\" }\n");

        assertEquals(2, result.status());
        assertEquals(1, result.errLines().size(), result.err());
        assertTrue(result.err().contains("tensor 'fc.bias'") && result.err().contains("S(1) is out of range"), result.err());
    }

    @Test
    void shouldRejectADeviceCountThatIsNotTheProductOfTheDegrees() throws IOException {
        Result result = plan("", "--set", "parallel.devices=4");

        assertEquals(2, result.status());
        assertEquals(List.of("error: parallel.devices: 4 devices do not match data * tensor * pipeline = 1 * 1 * 1 = 1; "
                + "make the product equal the device count (e.g. parallel.data = 4 for data parallelism)"), result.errLines());
    }

    /** The loss (ops from "add" on) on stage 1, fc and the optimizer on stage 0, each stage data parallel on 2 devices. */
    private static final String TWO_STAGES = "parallel { devices = 4, data = 2, pipeline = 2, stages { add = 1 } }\n";

    @Test
    void shouldPlaceTheLossOnASecondStageAndSendTheActivationsThere() throws IOException {
        Result result = plan(TWO_STAGES);

        assertEquals(0, result.status(), result.err());
        assertTrue(result.out().contains("4 device(s) as 2 pipeline stages of [data 2, tensor 1]"), result.out());
        assertTrue(result.out().contains("placement p0: [0:0, 0:1] as [2, 1]"), result.out());
        assertTrue(result.out().contains("placement p1: [0:2, 0:3] as [2, 1]") && result.out().contains("stage 1: \"add\""),
                result.out());
        assertTrue(result.tensorLine("fc.weight").contains(" p0 "), result.out());
        assertTrue(result.tensorLine("add").contains(" p1 ") && result.tensorLine("add").contains("(S(0), B)")
                && result.tensorLine("add").endsWith("[2, 2]"), result.out());
        assertTrue(result.out().lines().anyMatch(l -> l.startsWith("  fc.bias_add ") && l.contains("send/recv p0 -> p1")
                && l.contains("into add")), result.out());
        assertTrue(result.out().lines().anyMatch(l -> l.contains("send/recv p1 -> p0")), result.out());
        List<String> rows = result.out().lines().filter(l -> l.startsWith("  0:")).toList();
        assertEquals(4, rows.size(), result.out());
        // the parameters live on stage 0 only: 40 bytes on each of its devices, none on stage 1's
        assertTrue(rows.get(0).startsWith("  0:0             40 B") && rows.get(2).startsWith("  0:2              0 B"),
                result.out());
    }

    @Test
    void shouldListEveryStagePlacementInTheJson() throws IOException {
        Result result = plan(TWO_STAGES, "--json");

        assertEquals(0, result.status(), result.err());
        JsonNode root = new ObjectMapper().readTree(result.out());
        assertEquals(4, root.get("devices").asInt());
        assertEquals(2, root.get("placements").size());
        assertEquals("p1", root.get("placements").get(1).get("id").asText());
        assertEquals("[\"0:2\",\"0:3\"]", root.get("placements").get(1).get("devices").toString());
        assertEquals("p1", find(root.get("tensors"), "name", "add").get("placement").asText());
        assertEquals("[2,2]", find(root.get("tensors"), "name", "add").get("local_shape").toString());
        assertEquals("p0", find(root.get("ops"), "name", "fc.weight.update").get("placement").asText());
        JsonNode send = find(root.get("conversions"), "tensor", "fc.bias_add").get("steps").get(0);
        assertEquals("send/recv", send.get("kind").asText());
        assertEquals("p0", send.get("from_placement").asText());
        assertEquals("p1", send.get("to_placement").asText());
        assertEquals(4, root.get("per_device").size());
        assertEquals("0:3", root.get("per_device").get(3).get("device").asText());
        assertTrue(root.get("per_device").get(3).get("flops_per_iteration").asDouble() > 0);
    }

    @Test
    void shouldNameEachOpsStageInTheGraphvizPicture() throws IOException {
        Path dot = dir.resolve("stages.dot");

        Result result = plan(TWO_STAGES, "--dot", dot.toString());

        assertEquals(0, result.status(), result.err());
        String picture = Files.readString(dot);
        assertTrue(picture.contains("label=\"tiny-linear on p0 [0:0, 0:1] as [2, 1], p1 [0:2, 0:3] as [2, 1]\""), picture);
        assertTrue(picture.contains("fc.matmul\\nmatmul [F]") && picture.contains(" on p0\""), picture);
        assertTrue(picture.contains(" on p1\"") && picture.contains("send/recv p0 -> p1"), picture);
    }

    @Test
    void shouldCutPipelineStagesByTheCostModelWithoutStageRulesAndReportEachStage() throws IOException {
        Result result = plan("", "--set", "parallel.devices=2", "--set", "parallel.pipeline=2");

        assertEquals(0, result.status(), result.err());
        String out = result.out();
        assertTrue(out.contains("placement p1: ") && out.contains("stage 1: cut by the cost model"), out);
        assertTrue(out.contains("stages cut by the cost model (modeled per micro-batch"), out);
        String[] lines = out.lines().filter(line -> line.matches("  [01] +\\d+ .*")).toArray(String[]::new);
        assertEquals(2, lines.length, out);
        for (String line : lines) {
            assertTrue(Integer.parseInt(line.trim().split(" +")[1]) > 0, "every stage runs forward ops: " + line);
        }
    }

    @Test
    void shouldShowThePipelineScheduleEveryDeviceFollows() throws IOException {
        Result result = plan("", "--set", "parallel.devices=2", "--set", "parallel.pipeline=2", "--set",
                "parallel.schedule=1f1b", "--set", "train.micro_batches=4");

        assertEquals(0, result.status(), result.err());
        String out = result.out();
        assertTrue(out.contains("schedule 1f1b, every device's actions per iteration"), out);
        String expected = dev.tessera.plan.schedule.Schedules.oneFOneB(2, 4).toText();
        expected.lines().forEach(line -> assertTrue(out.contains("  " + line + "\n"), line + " in\n" + out));
        assertTrue(out.matches("(?s).*registers the schedule's plan allocates [^\n]*\n  0:0 [0-9.]+ (B|KiB|MiB) 0:1 [0-9.]+ "
                + "(B|KiB|MiB)\n.*"), out);
    }

    @Test
    void shouldPrintTheGradientBucketsOfDataParallelStagesUnderAPipelineSchedule() throws IOException {
        Result result = plan("", "--set", "parallel.devices=4", "--set", "parallel.data=2", "--set",
                "parallel.pipeline=2", "--set", "parallel.schedule=1f1b", "--set", "train.micro_batches=4", "--set",
                "train.batch_size=16");

        assertEquals(0, result.status(), result.err());
        String out = result.out();
        // the first stage's devices reduce the accumulators (and their squared norms) once per iteration
        // (the accumulators reach the first stage's readers as shards and whole: reduce-scatters and all-reduces)
        assertTrue(out.contains("gradient buckets (parallel.gradient_bucket_bytes = 25.00 MiB): 2, each one ring "
                + "all-reduce (or reduce-scatter)"), out);
        assertTrue(out.contains("  bucket 1  update  2 gradients reduce-scattered, 40 B, on [0:0 0:1]:\n"
                + "    fc.weight.grad fc.bias.grad\n"), out);
        assertTrue(out.contains("  bucket 2  update  4 gradients, 48 B, on [0:0 0:1]:\n"), out);
    }

    @Test
    void shouldPrintABucketOfReduceScatteredGradientsForWeightsSplitOverTheDataAxis() throws IOException {
        Result result = plan("", "--set", "parallel.devices=2", "--set", "parallel.data=2", "--set",
                "train.micro_batches=3", "--set", "train.batch_size=12", "--set",
                "parallel.hints.\"fc.weight\"=\"(S(0), B)\"", "--set", "parallel.hints.\"fc.bias\"=\"(S(0), B)\"");

        assertEquals(0, result.status(), result.err());
        // one reduce-scatter of each accumulator per reader in the update
        assertTrue(result.out().contains("  bucket 1  update  4 gradients reduce-scattered, 80 B, on [0:0 0:1]:\n"
                + "    fc.weight.grad fc.bias.grad fc.weight.grad fc.bias.grad\n"), result.out());
    }

    @Test
    void shouldShowTheExtraRegistersOfDeferredWeightGradients() throws IOException {
        long[] oneFOneB = registers(plan("", "--set", "parallel.devices=2", "--set", "parallel.pipeline=2", "--set",
                "parallel.schedule=1f1b", "--set", "train.micro_batches=4"));
        long[] weightsAtEnd = registers(plan("", "--set", "parallel.devices=2", "--set", "parallel.pipeline=2",
                "--set", "parallel.schedule=1f1b-2bp-weights-at-end", "--set", "train.micro_batches=4"));
        // stage 0 keeps its activations for the W ops it defers; stage 1 holds only the head's output and loss
        assertTrue(weightsAtEnd[0] > oneFOneB[0], weightsAtEnd[0] + " vs " + oneFOneB[0]);
        assertTrue(weightsAtEnd[1] >= oneFOneB[1], weightsAtEnd[1] + " vs " + oneFOneB[1]);
    }

    /** The registers line of a plan, in bytes rounded as printed (KiB or MiB). */
    private static long[] registers(Result result) {
        assertEquals(0, result.status(), result.err());
        List<String> lines = result.out().lines().toList();
        int at = lines.indexOf(lines.stream().filter(l -> l.startsWith("registers the schedule's plan allocates"))
                .findFirst().orElseThrow());
        String[] parts = lines.get(at + 1).trim().split(" ");
        long[] bytes = new long[2];
        for (int d = 0; d < 2; d++) {
            double value = Double.parseDouble(parts[3 * d + 1]);
            String unit = parts[3 * d + 2];
            bytes[d] = (long) (value * (unit.equals("MiB") ? 1 << 20 : unit.equals("KiB") ? 1 << 10 : 1));
        }
        return bytes;
    }

    @Test
    void shouldRejectStageRulesWithoutPipelineStages() throws IOException {
        Result result = plan("parallel.stages { add = 1 }\n");

        assertEquals(2, result.status());
        assertEquals(1, result.errLines().size(), result.err());
        assertTrue(result.err().startsWith("error: parallel.stages: stage rules need parallel.pipeline > 1"), result.err());
    }

    @Test
    void shouldRejectAStageIndexOutsideThePipelineNamingTheStagesThatExist() throws IOException {
        Result result = plan("parallel { devices = 2, pipeline = 2, stages { add = 1, \"fc.\" = 2 } }\n");

        assertEquals(2, result.status());
        assertEquals(List.of("error: parallel.stages.\"fc.\": stage 2 does not exist; parallel.pipeline = 2 gives stages "
                + "0..1; use one of those or raise parallel.pipeline"), result.errLines());
    }

    @Test
    void shouldRejectAnEmptyStagePrefix() throws IOException {
        Result result = plan("parallel { devices = 2, pipeline = 2, stages { \"\" = 1 } }\n");

        assertEquals(2, result.status());
        assertEquals(1, result.errLines().size(), result.err());
        assertTrue(result.err().startsWith("error: parallel.stages: an empty prefix would name every op"), result.err());
    }

    @Test
    void shouldRejectTheAutoSearchWithPipelineStages() throws IOException {
        Result result = plan("parallel { devices = 2, pipeline = 2, auto = true, stages { add = 1 } }\n");

        assertEquals(2, result.status());
        assertEquals(1, result.errLines().size(), result.err());
        assertTrue(result.err().startsWith("error: parallel.auto: the auto search lays out one placement")
                && result.err().contains("set parallel.auto = false"), result.err());
    }

    @Test
    void shouldRejectAStageNoOpRunsOnNamingItsPrefixes() throws IOException {
        Result result = plan("parallel { devices = 3, pipeline = 3, stages { add = 1, \"block9.\" = 2 } }\n");

        assertEquals(2, result.status());
        assertEquals(1, result.errLines().size(), result.err());
        assertTrue(result.err().startsWith("error: parallel.stages: no op runs on stage 2: no op name starts with \"block9.\""),
                result.err());
    }

    @Test
    void shouldRejectMoreDataParallelRanksThanExamples() throws IOException {
        Result result = plan("", "--set", "parallel.devices=8", "--set", "parallel.data=8");

        assertEquals(2, result.status());
        assertEquals(1, result.errLines().size(), result.err());
        assertTrue(result.err().startsWith("error: train.batch_size 4 is smaller than parallel.data 8"), result.err());
    }

    @Test
    void shouldRefuseToTrainWithTheReplacedManualPlacementNamingTheStagesThatReplaceIt() throws IOException {
        Path conf = Files.writeString(dir.resolve("train.conf"),
                "model.type = tiny-linear\nruntime { devices = 2, placement = [\"fc.=1\"] }\n");
        ByteArrayOutputStream err = new ByteArrayOutputStream();

        int status = Main.execute(new String[] {"train", conf.toString(), "--run-dir", dir.resolve("run").toString()},
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));

        assertEquals(2, status);
        String message = err.toString(StandardCharsets.UTF_8);
        assertTrue(message.contains("unknown key runtime.placement"), message);
        assertTrue(message.contains("write parallel { devices = 2, pipeline = 2, stages {"), message);
        assertTrue(message.contains("runtime.devices was replaced by parallel.devices"), message);
        assertTrue(!Files.exists(dir.resolve("run")), "a config error leaves no run directory");
    }

    private static JsonNode find(JsonNode array, String field, String value) {
        for (JsonNode node : array) {
            if (node.get(field).asText().equals(value)) {
                return node;
            }
        }
        throw new AssertionError("no entry with " + field + " = " + value + " in " + array);
    }
}
