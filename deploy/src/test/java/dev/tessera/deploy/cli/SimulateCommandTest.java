package dev.tessera.deploy.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tessera.deploy.Main;
import dev.tessera.plan.schedule.ActivationProfile;
import dev.tessera.plan.schedule.PipelineSchedule;
import dev.tessera.plan.schedule.Schedules;
import dev.tessera.plan.simulate.AnalyticTransformer;
import dev.tessera.plan.simulate.CostModel;
import dev.tessera.plan.simulate.DeviceProfile;
import dev.tessera.plan.simulate.SimulationReport;
import dev.tessera.plan.simulate.Simulator;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@code tessera simulate}, run in-process: its numbers are the scheduler's simulator's. */
@Timeout(60)
class SimulateCommandTest {
    private static final List<String> FAMILIES = List.of("gpipe", "1f1b", "interleaved-1f1b", "1f1b-2bp",
            "1f1b-2bp-w-at-end", "zb-h1", "zb-h2", "zb-v");

    @TempDir
    Path dir;

    private record Result(int status, String out, String err) {
        /** The comparison row of {@code schedule}, split at blanks: name, step time, bubble rate, peak memory, peaks. */
        List<String> row(String schedule) {
            return out.lines().filter(l -> l.startsWith(schedule + " ")).findFirst()
                    .map(l -> Arrays.asList(l.trim().split("\\s+")))
                    .orElseThrow(() -> new AssertionError("no row for " + schedule + " in\n" + out));
        }
    }

    private static Result simulate(String... arguments) {
        List<String> args = new ArrayList<>(List.of("simulate"));
        args.addAll(Arrays.asList(arguments));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Main.execute(args.toArray(String[]::new), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** The families at p = 4, m = 8 with the command's cost model: chunks split a device's times evenly. */
    private static Map<String, PipelineSchedule> families(int p, int m, int chunks) {
        Map<String, PipelineSchedule> schedules = new LinkedHashMap<>();
        schedules.put("gpipe", Schedules.gpipe(p, m));
        schedules.put("1f1b", Schedules.oneFOneB(p, m));
        schedules.put("interleaved-1f1b", Schedules.interleavedOneFOneB(p, m, chunks));
        schedules.put("1f1b-2bp", Schedules.oneFOneBTwoBp(p, m));
        schedules.put("1f1b-2bp-w-at-end", Schedules.oneFOneBTwoBpWeightsAtEnd(p, m));
        schedules.put("zb-h1", Schedules.zbH1(p, m));
        schedules.put("zb-h2", Schedules.zbH2(p, m));
        schedules.put("zb-v", Schedules.zbV(p, m));
        return schedules;
    }

    private static SimulationReport expected(PipelineSchedule schedule, List<Double> f, List<Double> b, List<Double> w,
            double transfer) {
        List<Double> sf = new ArrayList<>();
        List<Double> sb = new ArrayList<>();
        List<Double> sw = new ArrayList<>();
        for (int stage = 0; stage < schedule.stages(); stage++) {
            int device = schedule.deviceOf(stage);
            int chunks = schedule.stagesOf(device).size();
            sf.add(f.get(device) / chunks);
            sb.add(b.get(device) / chunks);
            sw.add(w.get(device) / chunks);
        }
        return Simulator.simulate(schedule, CostModel.perStage(sf, sb, sw, transfer));
    }

    private static String peaks(PipelineSchedule schedule) {
        return Arrays.stream(ActivationProfile.peaks(schedule)).mapToObj(Integer::toString).collect(Collectors.joining(" "));
    }

    @Test
    void shouldPrintTheSimulatorsStepTimeBubbleRateAndPeaksOfEveryFamilyForUnitCosts() {
        Result result = simulate("--stages", "4", "--micro-batches", "8", "--compare");

        assertEquals(0, result.status(), result.err());
        // the closed forms of docs/pipeline-schedules.md at p = 4, m = 8, T_F = T_B = T_W = 1
        assertEquals(List.of("gpipe", "33", "0.2727", "8", "8", "8", "8", "8"), result.row("gpipe"));
        assertEquals(List.of("1f1b", "33", "0.2727", "4", "4", "3", "2", "1"), result.row("1f1b"));
        assertEquals("30", result.row("1f1b-2bp").get(1));
        assertEquals("30", result.row("1f1b-2bp-w-at-end").get(1));
        assertEquals(List.of("zb-h1", "27", "0.1111", "4", "4", "4", "4", "4"), result.row("zb-h1"));
        assertEquals("27", result.row("zb-h2").get(1));
        assertEquals("7", result.row("zb-h2").get(4));
        // chunk costs 1/2: half the step of chunk costs 1 (57 and 51 there)
        assertEquals("28.5", result.row("interleaved-1f1b").get(1));
        assertEquals("25.5", result.row("zb-v").get(1));
        List<Double> ones = List.of(1.0, 1.0, 1.0, 1.0);
        for (Map.Entry<String, PipelineSchedule> family : families(4, 8, 2).entrySet()) {
            SimulationReport report = expected(family.getValue(), ones, ones, ones, 0);
            List<String> row = result.row(family.getKey());
            assertEquals(report.stepTime(), Double.parseDouble(row.get(1)), 1e-9, family.getKey());
            assertEquals(String.format(Locale.ROOT, "%.4f", report.bubbleRate()), row.get(2), family.getKey());
            assertEquals(peaks(family.getValue()), String.join(" ", row.subList(4, row.size())), family.getKey());
        }
        // auto at the default limit (4, what 1F1B holds) is never slower than ZB-H1, which fits it
        assertTrue(Double.parseDouble(result.row("auto").get(1)) <= 27, result.out());
        assertTrue(result.out().contains("bubble rate: idle time over total device time"), result.out());
    }

    @Test
    void shouldTakeOneTimePerStageAndATransferTime() {
        Result result = simulate("--stages", "4", "--micro-batches", "12", "--times", "F=1.0:1.2:1.0:1.4,B=1.1,W=0.6,comm=0.05");

        assertEquals(0, result.status(), result.err());
        List<Double> f = List.of(1.0, 1.2, 1.0, 1.4);
        List<Double> b = List.of(1.1, 1.1, 1.1, 1.1);
        List<Double> w = List.of(0.6, 0.6, 0.6, 0.6);
        for (Map.Entry<String, PipelineSchedule> family : families(4, 12, 2).entrySet()) {
            SimulationReport report = expected(family.getValue(), f, b, w, 0.05);
            assertEquals(report.stepTime(), Double.parseDouble(result.row(family.getKey()).get(1)), 1e-4, family.getKey());
        }
        assertTrue(result.out().contains("F=1:1.2:1:1.4,B=1.1,W=0.6,comm=0.05 (synthetic)"), result.out());
    }

    @Test
    void shouldPrintTheSameAsJsonWithEveryFamilyAndAuto() throws IOException {
        Result result = simulate("--stages", "4", "--micro-batches", "8", "--json", "--memory-limit", "6");

        assertEquals(0, result.status(), result.err());
        JsonNode root = new ObjectMapper().readTree(result.out());
        assertEquals(4, root.get("stages").asInt());
        assertEquals(8, root.get("micro_batches").asInt());
        assertEquals(6, root.get("memory_limit").asInt());
        Map<String, JsonNode> byName = new LinkedHashMap<>();
        root.get("schedules").forEach(entry -> byName.put(entry.get("name").asText(), entry));
        List<String> expectedNames = new ArrayList<>(FAMILIES);
        expectedNames.add("auto");
        assertEquals(expectedNames, new ArrayList<>(byName.keySet()));
        assertEquals(33.0, byName.get("gpipe").get("step_time").asDouble(), 1e-12);
        assertEquals(3.0 / 11, byName.get("gpipe").get("bubble_rate").asDouble(), 1e-12);
        assertEquals("[4,3,2,1]", byName.get("1f1b").get("peak_activations").toString());
        assertEquals(4, byName.get("zb-h1").get("devices").size());
        assertEquals(3.0, byName.get("zb-h1").get("devices").get(0).get("idle").asDouble(), 1e-12);
        JsonNode auto = byName.get("auto");
        assertTrue(auto.get("step_time").asDouble() <= 27 + 1e-9, auto.toString());
        assertTrue(auto.has("origin"), auto.toString());
        auto.get("peak_activations").forEach(peak -> assertTrue(peak.asInt() <= 6, auto.toString()));
    }

    @Test
    void shouldReportAFamilyThatCannotTakeTheMicroBatchesInItsRowAndSimulateTheOthers() throws IOException {
        Result text = simulate("--stages", "4", "--micro-batches", "9");
        Result json = simulate("--stages", "4", "--micro-batches", "9", "--json");

        assertEquals(0, text.status(), text.err());
        assertTrue(text.out().lines().anyMatch(l -> l.startsWith("interleaved-1f1b") && l.contains("not available: ")
                && l.contains("use 8 or 10 micro-batches")), text.out());
        assertEquals("36", text.row("gpipe").get(1));
        JsonNode interleaved = new ObjectMapper().readTree(json.out()).get("schedules").get(2);
        assertEquals("interleaved-1f1b", interleaved.get("name").asText());
        assertTrue(interleaved.get("problem").asText().contains("9 micro-batches"), interleaved.toString());
        assertFalse(interleaved.has("step_time"));
    }

    @Test
    void shouldPrintOneScheduleAsTextThatParsesBackAndItsTable() {
        Result result = simulate("--stages", "4", "--micro-batches", "8", "--schedule", "zb-h1");

        assertEquals(0, result.status(), result.err());
        String text = result.out().lines().filter(l -> l.startsWith("device ") && l.contains(":"))
                .collect(Collectors.joining("\n"));
        assertEquals(Schedules.zbH1(4, 8), PipelineSchedule.parse(text));
        assertTrue(result.out().contains("device 0: 0F0 0F1 0F2 0F3 0B0 0W0 0F4"), result.out());
        assertTrue(result.out().contains("step time 27.0000, bubble rate 0.1111"), result.out());
        assertTrue(result.out().contains("peak activations per device: 4 4 4 4"), result.out());
    }

    @Test
    void shouldSplitEachDevicesTimeOverTheChunksOfInterleaved1F1B() {
        Result result = simulate("--stages", "4", "--micro-batches", "8", "--chunks", "3", "--schedule", "interleaved-1f1b");

        assertEquals(0, result.status(), result.err());
        List<Double> ones = List.of(1.0, 1.0, 1.0, 1.0);
        double step = expected(Schedules.interleavedOneFOneB(4, 8, 3), ones, ones, ones, 0).stepTime();
        // the closed form: ideal m (T_F + T_B + T_W) = 24, plus (p - 1)(T_F + T_B + T_W) / v = 3
        assertEquals(27.0, step, 1e-9);
        assertTrue(result.out().contains(String.format(Locale.ROOT, "step time %.4f", step)), result.out());
        assertTrue(result.out().contains("device 0: 0F0 0F1 0F2 0F3 4F0"), result.out());
    }

    @Test
    void shouldWriteAGanttChartAndAChromeTracePerSchedule() throws IOException {
        Path out = dir.resolve("sim");

        Result one = simulate("--stages", "4", "--micro-batches", "8", "--schedule", "zb-h1", "--out", out.toString());
        Result all = simulate("--stages", "3", "--micro-batches", "6", "--out", out.resolve("all").toString(), "--json");

        assertEquals(0, one.status(), one.err());
        assertTrue(one.out().contains("wrote " + out.resolve("zb-h1.png")), one.out());
        JsonNode trace = new ObjectMapper().readTree(Files.readString(out.resolve("zb-h1.trace.json")));
        // 4 device names, then one event per action: 3 x 8 per device
        assertEquals(4 + 4 * 3 * 8, trace.get("traceEvents").size());
        assertEquals("X", trace.get("traceEvents").get(4).get("ph").asText());
        if (one.err().isEmpty()) {
            BufferedImage image = ImageIO.read(out.resolve("zb-h1.png").toFile());
            assertNotNull(image);
            assertTrue(image.getWidth() > 100 && image.getHeight() > 100);
        } else {
            assertTrue(one.err().startsWith("note: no Gantt charts drawn"), one.err());
        }
        assertEquals(0, all.status(), all.err());
        JsonNode schedules = new ObjectMapper().readTree(all.out()).get("schedules");
        for (JsonNode entry : schedules) {
            Path written = Path.of(entry.get("files").get("trace").asText());
            assertTrue(Files.size(written) > 0, written.toString());
            if (entry.get("files").has("gantt")) {
                assertNotNull(ImageIO.read(Path.of(entry.get("files").get("gantt").asText()).toFile()));
            }
        }
        for (String family : FAMILIES) {
            assertTrue(Files.size(out.resolve("all").resolve(family + ".trace.json")) > 0, family);
        }
        assertTrue(Files.exists(out.resolve("all").resolve("auto.trace.json")));
    }

    @Test
    void shouldTakeStagesMicroBatchesAndStageTimesFromAConfig() throws IOException {
        Path conf = Files.writeString(dir.resolve("run.conf"), "model.type = tiny-linear\ntrain.batch_size = 4\n"
                + "train.micro_batches = 6\nparallel = {devices = 2, pipeline = 2, stages = {add = 1}}\n");

        Result result = simulate(conf.toString(), "--json", "--schedule", "1f1b");
        Result text = simulate(conf.toString(), "--set", "train.micro_batches=3");

        assertEquals(0, result.status(), result.err());
        JsonNode root = new ObjectMapper().readTree(result.out());
        assertEquals(2, root.get("stages").asInt());
        assertEquals(6, root.get("micro_batches").asInt());
        JsonNode times = root.get("times");
        // stage 0, fc on x [4, 4]: matmul 2 * 4 * 4 * 2 FLOPs and bias 4 * 2, at the standard 1e10 FLOP/s
        assertEquals(72e-10, times.get("F").get(0).asDouble(), 1e-20, times.toString());
        assertTrue(times.get("F").get(1).asDouble() > 0, times.toString());
        // x is data, so stage 0 computes no input gradient; stage 1 (the error and its square) has no weight
        assertEquals(0.0, times.get("B").get(0).asDouble(), times.toString());
        assertTrue(times.get("B").get(1).asDouble() > 0, times.toString());
        assertTrue(times.get("W").get(0).asDouble() > 0, times.toString());
        assertEquals(0.0, times.get("W").get(1).asDouble(), times.toString());
        assertEquals(0.0, times.get("comm").asDouble());
        assertTrue(root.get("source").asText().contains("FLOPs of " + conf), root.toString());
        assertEquals(0, text.status(), text.err());
        assertTrue(text.out().startsWith("2 stages (one per device), 3 micro-batches"), text.out());
    }

    @Test
    void shouldTimeAConfigsOpsByTheRooflineAndEachBoundaryByItsCrossingBytesUnderAProfile() throws IOException {
        Path conf = Files.writeString(dir.resolve("run.conf"), "model.type = tiny-linear\ntrain.batch_size = 4\n"
                + "train.micro_batches = 6\nparallel = {devices = 2, pipeline = 2, stages = {add = 1}}\n");
        // FLOP-bound: memory so fast that every op takes its FLOPs at 1e10, as without a profile
        Path flopBound = Files.writeString(dir.resolve("flops.profile"), new DeviceProfile("flops", 1e10, 1e30, 1e3,
                0.5, 1e9, "test", Map.of()).toText());
        // bytes-bound: compute so fast that every op takes its bytes at 1e9 B/s
        Path byteBound = Files.writeString(dir.resolve("bytes.profile"), new DeviceProfile("bytes", 1e30, 1e9, 1e3,
                0.5, 1e9, "test", Map.of()).toText());

        JsonNode flops = new ObjectMapper().readTree(simulate(conf.toString(), "--json", "--profile", flopBound.toString(),
                "--schedule", "1f1b").out()).get("times");
        Result bytesRun = simulate(conf.toString(), "--json", "--profile", byteBound.toString(), "--schedule", "1f1b");
        JsonNode bytes = new ObjectMapper().readTree(bytesRun.out()).get("times");

        assertEquals(0, bytesRun.status(), bytesRun.err());
        // stage 0, fc on x [4, 4]: 72 FLOPs (see the test above); the fc output is the only tensor stage 1 reads
        assertEquals(72e-10, flops.get("F").get(0).asDouble(), 1e-20, flops.toString());
        // 4 features, 2 outputs: the matmul reads x [4, 4] and w [4, 2] and writes [4, 2]; the bias add reads
        // [4, 2] and [2] and writes [4, 2]; f32
        assertEquals((16 + 8 + 8 + 8 + 2 + 8) * 4 / 1e9, bytes.get("F").get(0).asDouble(), 1e-20, bytes.toString());
        // the boundary: fc's output [4, 2] f32 = 32 bytes, at 1000 B/s after 0.5 s latency
        assertEquals(0.5 + 32 / 1e3, bytes.get("comm").asDouble(), 1e-12, bytes.toString());
        assertEquals(List.of(0.5 + 32 / 1e3), List.of(bytes.get("comm_per_boundary").get(0).asDouble()));
    }

    @Test
    void shouldPredictThe2BpSpeedUpOfTheClosedFormLlama7bOnTheA100() throws IOException {
        Result text = simulate("--preset", "llama-7b", "--profile", "a100", "--stages", "4", "--micro-batches", "8",
                "--compare");
        Result json = simulate("--preset", "llama-7b", "--micro-batches", "4", "--json");

        assertEquals(0, text.status(), text.err());
        assertTrue(text.out().contains("2BP prediction: llama-7b closed form") && text.out().contains("1.70x"), text.out());
        CostModel costs = AnalyticTransformer.llama7b(4096, 1).costModel(DeviceProfile.a100(), 4);
        double oneFOneB = Simulator.simulate(Schedules.oneFOneB(4, 8), costs).stepTime();
        double twoBp = Simulator.simulate(Schedules.oneFOneBTwoBp(4, 8), costs).stepTime();
        // the prediction's row (step, bubble rate, speed-up, memory), not the comparison table's
        List<String> row = text.out().lines().filter(l -> l.startsWith("1f1b-2bp ") && l.contains("x ")).findFirst()
                .map(l -> Arrays.asList(l.trim().split("\\s+"))).orElseThrow();
        assertEquals(String.format(Locale.ROOT, "%.3fx", oneFOneB / twoBp), row.get(3), text.out());
        assertTrue(oneFOneB / twoBp > 1, oneFOneB + " vs " + twoBp);
        assertEquals(0, json.status(), json.err());
        JsonNode root = new ObjectMapper().readTree(json.out());
        assertEquals(4, root.get("stages").asInt());
        assertEquals(costs.forward().get(3), root.get("times").get("F").get(3).asDouble(), 1e-15);
        JsonNode prediction = root.get("two_bp_prediction").get("schedules");
        assertEquals("1f1b", prediction.get(0).get("name").asText());
        assertEquals(1.0, prediction.get(0).get("speed_up").asDouble(), 1e-12);
        assertTrue(prediction.get(1).get("speed_up").asDouble() > 1, prediction.toString());
        assertTrue(prediction.get(2).get("speed_up").asDouble() > 1, prediction.toString());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            profile without model   | --stages 4 --micro-batches 8 --profile a100                   | --profile a100 turns a model's FLOPs and bytes into times; give a <config> or --preset llama-7b
            unknown profile         | --preset llama-7b --profile tpu9                              | --profile tpu9: no built-in profile of that name (a100, h100) and no such file
            unknown preset          | --preset gpt-5                                                | --preset: there is no preset named 'gpt-5'; use llama-7b
            preset with times       | --preset llama-7b --times F=1                                 | --preset llama-7b gives the stage times; drop --times and --set
            preset too many stages  | --preset llama-7b --stages 33                                 | --preset llama-7b: transformer llama-7b has 32 layers, so 1 to 32 pipeline stages, not 33
            sequence without preset | --stages 4 --micro-batches 8 --sequence-length 1024           | --sequence-length and --micro-batch-size size a --preset model
            unknown schedule        | --stages 4 --micro-batches 8 --schedule zb-h9                 | --schedule: there is no schedule named 'zb-h9'; use one of gpipe, 1f1b,
            m the family cannot run | --stages 4 --micro-batches 9 --schedule interleaved-1f1b      | --schedule interleaved-1f1b: interleaved 1F1B with 4 devices runs micro-batches in 2 equal rounds
            times without =         | --stages 4 --micro-batches 8 --times F1,B=1                   | --times: 'F1' is not key=value; write F=T,B=T,W=T,comm=T
            unknown times key       | --stages 4 --micro-batches 8 --times F=1,X=2                  | --times: unknown key 'X'
            times not a number      | --stages 4 --micro-batches 8 --times F=fast                   | --times: F=fast is not a number
            wrong number of times   | --stages 4 --micro-batches 8 --times F=1:2:3                  | --times: F has 3 values but there are 4 stages
            negative time           | --stages 4 --micro-batches 8 --times F=1,B=-0.5               | --times: B=-0.5 must be a finite time of at least 0
            negative transfer       | --stages 4 --micro-batches 8 --times comm=-1                  | --times: comm=-1 must be a finite time of at least 0
            key given twice         | --stages 4 --micro-batches 8 --times F=1,f=2                  | --times: F is given twice
            no micro-batches        | --stages 4 --micro-batches 0                                  | --micro-batches: 0 micro-batches cannot fill a step; give at least 1
            no stages               | --stages 0 --micro-batches 8                                  | --stages: 0 stages; give at least 1
            no chunks               | --stages 4 --micro-batches 8 --chunks 0                       | --chunks: 0 chunks per device; give at least 1
            memory limit 0          | --stages 4 --micro-batches 8 --memory-limit 0 --schedule auto | --memory-limit: 0 activations per device leave no room for a forward
            nothing to simulate     | --micro-batches 8                                             | give the stages and micro-batches to simulate (e.g. --stages 4 --micro-batches 8)
            one and all             | --stages 4 --micro-batches 8 --schedule gpipe --compare       | --schedule gpipe and --compare ask for one schedule and for all; give one of them
            set without config      | --stages 4 --micro-batches 8 --set train.steps=1              | --set changes a config, but none is given
            not an integer          | --stages four --micro-batches 8                               | Invalid value for option '--stages'
            """)
    void shouldRejectBadInputWithAMessageAndNoStackTrace(String name, String arguments, String message) {
        Result result = simulate(arguments.split(" "));

        assertEquals(Main.EXIT_BAD_INPUT, result.status(), result.out() + result.err());
        assertTrue(result.err().startsWith("error: " + message), result.err());
        assertFalse(result.err().contains("\tat "), result.err());
        assertEquals("", result.out());
    }

    @Test
    void shouldRejectStageOptionsBesideAConfig() throws IOException {
        Path conf = Files.writeString(dir.resolve("run.conf"), "model.type = tiny-linear\n");

        Result result = simulate(conf.toString(), "--stages", "4");

        assertEquals(Main.EXIT_BAD_INPUT, result.status());
        assertTrue(result.err().startsWith("error: <config> " + conf + " gives the stages, micro-batches and times; drop"),
                result.err());
    }

    @Test
    void shouldBeListedInTheHelp() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Main.execute(new String[] {"--help"}, new PrintStream(out, true, StandardCharsets.UTF_8), System.err);
        assertTrue(out.toString(StandardCharsets.UTF_8).contains("simulate"));
        Result help = simulate("--help");
        assertEquals(0, help.status());
        assertTrue(help.out().contains("--times") && help.out().contains("--memory-limit") && help.out().contains("zb-v"),
                help.out());
    }
}
