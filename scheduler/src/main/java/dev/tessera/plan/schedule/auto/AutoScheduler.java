package dev.tessera.plan.schedule.auto;

import dev.tessera.plan.schedule.ActivationProfile;
import dev.tessera.plan.schedule.Action;
import dev.tessera.plan.schedule.PipelineSchedule;
import dev.tessera.plan.schedule.ScheduleValidator;
import dev.tessera.plan.schedule.Schedules;
import dev.tessera.plan.simulate.CostModel;
import dev.tessera.plan.simulate.SimulationReport;
import dev.tessera.plan.simulate.Simulator;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

/**
 * {@code schedule = auto}: the shortest schedule it finds, by the simulator, for given per-stage
 * times, transfer time and a per-device limit on activations held (one stage per device). Candidates:
 * the greedy constructions of {@link GreedySchedule} for each priority, with W only filling gaps or
 * competing, each refined by a local search that swaps neighbouring actions of a device while that
 * shortens the step and keeps the schedule valid and within the limit; and the fixed families with one
 * stage per device (GPipe, 1F1B, 1F1B-2BP both ways, ZB-H1, ZB-H2) that fit the limit. So it is never
 * slower, by the simulator, than the best fixed family that fits.
 */
public final class AutoScheduler {
    /** The chosen schedule, its simulation, and which candidate it came from. */
    public record Choice(PipelineSchedule schedule, SimulationReport report, String origin,
            Map<String, Double> candidates) {
    }

    private static final int LOCAL_SEARCH_PASSES = 4;

    private AutoScheduler() {
    }

    /**
     * Throws IllegalArgumentException when the limit is below 1 or no candidate fits it.
     *
     * @param costs one stage per device: {@code costs.stages()} is the number of devices
     */
    public static Choice schedule(int microBatches, CostModel costs, int activationLimit) {
        int devices = costs.stages();
        if (activationLimit < 1) {
            throw new IllegalArgumentException("the activation limit must be at least 1 micro-batch per device, not "
                    + activationLimit);
        }
        if (microBatches < 1) {
            throw new IllegalArgumentException("auto schedule needs at least 1 micro-batch, not " + microBatches);
        }
        Map<String, PipelineSchedule> candidates = new LinkedHashMap<>();
        for (GreedySchedule.Priority priority : GreedySchedule.Priority.values()) {
            for (boolean gapsOnly : new boolean[] {true, false}) {
                PipelineSchedule greedy = GreedySchedule.build(microBatches, costs, activationLimit, priority, gapsOnly);
                String name = "greedy " + priority.label + (gapsOnly ? ", W fills gaps" : "");
                candidates.put(name, greedy);
                candidates.put(name + ", local search", improve(greedy, costs, activationLimit));
            }
        }
        candidates.put("gpipe", Schedules.gpipe(devices, microBatches));
        candidates.put("1f1b", Schedules.oneFOneB(devices, microBatches));
        candidates.put("1f1b-2bp", Schedules.oneFOneBTwoBp(devices, microBatches));
        candidates.put("1f1b-2bp-w-at-end", Schedules.oneFOneBTwoBpWeightsAtEnd(devices, microBatches));
        candidates.put("zb-h1", Schedules.zbH1(devices, microBatches));
        candidates.put("zb-h2", Schedules.zbH2(devices, microBatches));
        Choice best = null;
        Map<String, Double> steps = new LinkedHashMap<>();
        for (Map.Entry<String, PipelineSchedule> candidate : candidates.entrySet()) {
            PipelineSchedule schedule = candidate.getValue();
            if (!fits(schedule, activationLimit)) {
                continue;
            }
            SimulationReport report = Simulator.simulate(schedule, costs);
            steps.put(candidate.getKey(), report.stepTime());
            if (best == null || report.stepTime() < best.report().stepTime()) {
                best = new Choice(schedule, report, candidate.getKey(), Map.of());
            }
        }
        if (best == null) {
            throw new IllegalArgumentException("no schedule holds at most " + activationLimit + " activations per device");
        }
        return new Choice(best.schedule(), best.report(), best.origin(), steps);
    }

    private static boolean fits(PipelineSchedule schedule, int activationLimit) {
        for (int device = 0; device < schedule.devices(); device++) {
            if (ActivationProfile.peak(schedule, device).inFlight() > activationLimit) {
                return false;
            }
        }
        return true;
    }

    /** Swaps neighbouring actions of a device while that shortens the simulated step. */
    static PipelineSchedule improve(PipelineSchedule start, CostModel costs, int activationLimit) {
        PipelineSchedule best = start;
        double bestStep = Simulator.simulate(start, costs).stepTime();
        for (int pass = 0; pass < LOCAL_SEARCH_PASSES; pass++) {
            boolean improved = false;
            for (int device = 0; device < best.devices(); device++) {
                for (int index = 0; index + 1 < best.actions(device).size(); index++) {
                    PipelineSchedule swapped = swap(best, device, index);
                    if (!ScheduleValidator.problems(swapped, OptionalInt.of(activationLimit)).isEmpty()) {
                        continue;
                    }
                    double step = Simulator.simulate(swapped, costs).stepTime();
                    if (step < bestStep) {
                        best = swapped;
                        bestStep = step;
                        improved = true;
                    }
                }
            }
            if (!improved) {
                break;
            }
        }
        return best;
    }

    private static PipelineSchedule swap(PipelineSchedule schedule, int device, int index) {
        List<List<Action>> perDevice = new ArrayList<>(schedule.actionsPerDevice());
        List<Action> actions = new ArrayList<>(perDevice.get(device));
        Action first = actions.get(index);
        actions.set(index, actions.get(index + 1));
        actions.set(index + 1, first);
        perDevice.set(device, actions);
        return new PipelineSchedule(schedule.deviceOfStage(), schedule.microBatches(), perDevice);
    }
}
