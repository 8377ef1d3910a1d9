package dev.tessera.deploy.simulate;

import dev.tessera.plan.schedule.PipelineSchedule;
import dev.tessera.plan.simulate.AnalyticTransformer;
import dev.tessera.plan.simulate.CostModel;
import dev.tessera.plan.simulate.DeviceProfile;
import dev.tessera.plan.simulate.SimulationReport;
import dev.tessera.plan.simulate.Simulator;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The 2BP paper's comparison, predicted: 1F1B against 1F1B with the backward split (W deferred, and
 * all W at the end) for an {@link AnalyticTransformer} on a {@link DeviceProfile}, one stage per
 * device, with memory in bytes (activations freed at B, weighted-matmul inputs freed at W, their output
 * gradients held from B to W).
 */
public record TwoBpPrediction(AnalyticTransformer model, DeviceProfile profile, int stages, int microBatches,
        CostModel costs, List<Row> rows) {
    /** The 2BP paper's measured throughput gain for its LLaMa-like 7B model on 4 GPUs. */
    public static final double PAPER_SPEED_UP = 1.70;

    /**
     * One schedule's prediction.
     *
     * @param speedUp 1F1B's step time over this one's (throughput gain at the same work per step)
     * @param peakMemoryBytes the largest per-device activation memory of the step (compared with the
     *     profile's memory, though weights and optimizer state are not in it)
     */
    public record Row(String schedule, double stepTime, double bubbleRate, double speedUp, double peakMemoryBytes) {
    }

    private static final List<ScheduleFamily> COMPARED = List.of(ScheduleFamily.ONE_F_ONE_B,
            ScheduleFamily.ONE_F_ONE_B_TWO_BP, ScheduleFamily.ONE_F_ONE_B_TWO_BP_WEIGHTS_AT_END);

    /** Simulates the three schedules on the model's closed-form costs. */
    public static TwoBpPrediction of(AnalyticTransformer model, DeviceProfile profile, int stages, int microBatches) {
        CostModel costs = model.costModel(profile, stages);
        List<SimulationReport> reports = new ArrayList<>();
        for (ScheduleFamily family : COMPARED) {
            PipelineSchedule schedule = family.build(stages, microBatches, 1);
            reports.add(Simulator.simulate(schedule, costs));
        }
        double baseline = reports.get(0).stepTime();
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < COMPARED.size(); i++) {
            SimulationReport report = reports.get(i);
            double peak = report.devices().stream().mapToDouble(SimulationReport.DeviceReport::peakMemory).max().orElse(0);
            rows.add(new Row(COMPARED.get(i).label(), report.stepTime(), report.bubbleRate(),
                    baseline / report.stepTime(), peak));
        }
        return new TwoBpPrediction(model, profile, stages, microBatches, costs, rows);
    }

    /** The stage times the comparison table of {@code tessera simulate} runs on: the cost model's, in seconds. */
    public StageTimes stageTimes() {
        List<Double> transfers = new ArrayList<>();
        for (int boundary = 0; boundary < stages - 1; boundary++) {
            transfers.add(costs.transfer(boundary));
        }
        return StageTimes.withBoundaries(costs.forward(), costs.backwardInput(), costs.backwardWeight(), transfers);
    }

    /** What the sizes and the profile are, in one line. */
    public String describe() {
        return String.format(Locale.ROOT, "%s closed form (%d layers, d %d, FFN %d SwiGLU, %d heads, sequence %d, "
                + "micro-batch size %d, %d bytes per element) on %s", model.name(), model.layers(), model.modelDim(),
                model.ffnDim(), model.heads(), model.sequence(), model.microBatchSize(), model.bytesPerElement(),
                profile.name());
    }

    public String toText() {
        StringBuilder text = new StringBuilder(String.format(Locale.ROOT,
                "%n2BP prediction: %s, %d stages, %d micro-batches%n", describe(), stages, microBatches));
        text.append(String.format(Locale.ROOT, "%-19s %12s %11s %9s %16s  %s%n", "schedule", "step (s)", "bubble rate",
                "speed-up", "peak memory (GB)", String.format(Locale.ROOT, "within %.0f GB", profile.memoryBytes() / 1e9)));
        for (Row row : rows) {
            text.append(String.format(Locale.ROOT, "%-19s %12.4f %11.4f %8.3fx %16.2f  %s%n", row.schedule(),
                    row.stepTime(), row.bubbleRate(), row.speedUp(), row.peakMemoryBytes() / 1e9,
                    row.peakMemoryBytes() <= profile.memoryBytes() ? "yes" : "no"));
        }
        text.append(String.format(Locale.ROOT, "the 2BP paper measured %.2fx for 1F1B-2BP over 1F1B (LLaMa-like 7B, "
                + "4 GPUs); profile: %s.%n", PAPER_SPEED_UP, profile.source()));
        text.append("memory: per micro-batch the activations (freed at B), the weighted matmuls' inputs (freed at W) "
                + "and, split backward only, their output gradients (B to W); weights, gradients of weights and "
                + "optimizer state are not counted.\n");
        return text.toString();
    }

    public Map<String, Object> toJson() {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("model", describe());
        json.put("profile", profile.name());
        json.put("paper_speed_up", PAPER_SPEED_UP);
        List<Object> entries = new ArrayList<>();
        for (Row row : rows) {
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("name", row.schedule());
            entry.put("step_time", row.stepTime());
            entry.put("bubble_rate", row.bubbleRate());
            entry.put("speed_up", row.speedUp());
            entry.put("peak_memory_bytes", row.peakMemoryBytes());
            entry.put("within_device_memory", row.peakMemoryBytes() <= profile.memoryBytes());
            entries.add(entry);
        }
        json.put("schedules", entries);
        return json;
    }
}
