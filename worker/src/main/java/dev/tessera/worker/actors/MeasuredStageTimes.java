package dev.tessera.worker.actors;

import dev.tessera.graph.Phase;
import dev.tessera.plan.simulate.CostModel;
import dev.tessera.runtime.trace.Trace;
import dev.tessera.runtime.trace.TraceEvent;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToIntFunction;

/**
 * Per-stage F, B and W times per micro-batch and the optimizer step's time, read off the trace of
 * a real run: what {@code schedule = auto} searches with when the stage times are measured. An
 * action is timed from the first to the last actor of its (device, micro-batch, phase), so the
 * dispatch between its actors counts as the action's, as it would on a device that runs one fused
 * kernel per action; update actors count once per (stage, device, iteration). A stage on several
 * devices (data or tensor parallel) takes its slowest device; a device of several stages (ZB-V,
 * interleaved 1F1B) times each stage's actions apart. Sources, transfers and sinks have no phase
 * and fall inside the actions.
 */
public final class MeasuredStageTimes {
    private MeasuredStageTimes() {
    }

    /**
     * @param stageOfActor the schedule stage of a traced actor, or -1 for one that belongs to none
     * @param iterations   iterations the trace holds
     */
    public static CostModel of(Trace trace, ToIntFunction<TraceEvent> stageOfActor, int stages, int iterations,
                               int microBatches) {
        // per (stage, device): the summed span of its F, B, W and update actions
        Map<List<Integer>, double[]> perStageDevice = new LinkedHashMap<>();
        spans(trace, stageOfActor).forEach((key, span) -> {
            double[] sums = perStageDevice.computeIfAbsent(List.of((Integer) key.get(0), (Integer) key.get(1)),
                    k -> new double[4]);
            sums[((Phase) key.get(2)).ordinal()] += (span[1] - span[0]) / 1e9;
        });
        double[][] perStage = new double[4][stages];
        perStageDevice.forEach((stageAndDevice, sums) -> {
            int stage = stageAndDevice.get(0);
            for (int phase = 0; phase < 4; phase++) {
                perStage[phase][stage] = Math.max(perStage[phase][stage], sums[phase]);
            }
        });
        double runs = (double) iterations * microBatches;
        List<List<Double>> means = new ArrayList<>();
        for (int phase = 0; phase < 3; phase++) {
            List<Double> times = new ArrayList<>();
            for (int s = 0; s < stages; s++) {
                times.add(perStage[phase][s] / runs);
            }
            means.add(times);
        }
        double update = 0;
        for (int s = 0; s < stages; s++) {
            update = Math.max(update, perStage[Phase.UPDATE.ordinal()][s] / iterations);
        }
        return CostModel.perStage(means.get(0), means.get(1), means.get(2), 0.0).withOptimizerStep(update);
    }

    /**
     * The span of every action: key (stage, device, phase, step), or (stage, device, UPDATE,
     * iteration) for the update; actors of no stage are left out.
     */
    public static Map<List<Object>, long[]> spans(Trace trace, ToIntFunction<TraceEvent> stageOfActor) {
        Map<List<Object>, long[]> spans = new LinkedHashMap<>();
        for (TraceEvent e : trace.events()) {
            Phase phase = e.actor().phase().orElse(null);
            int stage = phase == null ? -1 : stageOfActor.applyAsInt(e);
            if (stage < 0) {
                continue;
            }
            int device = e.device().index();
            List<Object> key = phase == Phase.UPDATE ? List.of(stage, device, phase, e.iteration())
                    : List.of(stage, device, phase, e.step());
            long[] span = spans.computeIfAbsent(key, k -> new long[] {Long.MAX_VALUE, Long.MIN_VALUE});
            span[0] = Math.min(span[0], e.startNanos());
            span[1] = Math.max(span[1], e.endNanos());
        }
        return spans;
    }
}
