package dev.tessera.plan.schedule.auto;

import dev.tessera.plan.schedule.Action;
import dev.tessera.plan.schedule.PipelineSchedule;
import dev.tessera.plan.simulate.CostModel;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One greedy construction of a split-backward schedule with one stage per device, as the
 * zero-bubble auto scheduler builds its candidates: time advances by events; at each step the
 * device that can start something earliest starts the action its {@link Priority} prefers among those
 * that can start then. F runs only while the device holds fewer than the memory limit's activations;
 * B and W run in micro-batch order; a W that fits before the next F or B could start fills the gap
 * (or, with {@code weightsFillGapsOnly} false, competes by priority like the others).
 */
final class GreedySchedule {
    /** The order in which a device prefers the kinds that could start at the same time. */
    enum Priority {
        BACKWARD_FORWARD_WEIGHT("B>F>W"),
        FORWARD_BACKWARD_WEIGHT("F>B>W"),
        BACKWARD_WEIGHT_FORWARD("B>W>F");

        final String label;

        Priority(String label) {
            this.label = label;
        }

        int rank(char kind) {
            return label.indexOf(kind) / 2;
        }
    }

    private GreedySchedule() {
    }

    static PipelineSchedule build(int microBatches, CostModel costs, int activationLimit, Priority priority,
            boolean weightsFillGapsOnly) {
        int devices = costs.stages();
        int[] forwards = new int[devices];
        int[] backwards = new int[devices];
        int[] inFlight = new int[devices];
        double[] free = new double[devices];
        List<Deque<Integer>> pendingWeights = new ArrayList<>();
        List<List<Action>> perDevice = new ArrayList<>();
        for (int device = 0; device < devices; device++) {
            pendingWeights.add(new ArrayDeque<>());
            perDevice.add(new ArrayList<>());
        }
        Map<Action, Double> ends = new HashMap<>();
        int remaining = 3 * devices * microBatches;
        while (remaining > 0) {
            int bestDevice = -1;
            Action bestAction = null;
            double bestStart = Double.POSITIVE_INFINITY;
            int bestRank = Integer.MAX_VALUE;
            for (int device = 0; device < devices; device++) {
                double forwardReady = Double.POSITIVE_INFINITY;
                if (forwards[device] < microBatches && inFlight[device] < activationLimit) {
                    forwardReady = device == 0 ? 0 : ready(ends, Action.forward(device - 1, forwards[device]), costs, device - 1);
                }
                double backwardReady = Double.POSITIVE_INFINITY;
                if (backwards[device] < forwards[device]) {
                    int microBatch = backwards[device];
                    backwardReady = device == devices - 1 ? ends.get(Action.forward(device, microBatch))
                            : Math.max(ends.get(Action.forward(device, microBatch)),
                                    ready(ends, Action.backwardInput(device + 1, microBatch), costs, device));
                }
                double weightReady = pendingWeights.get(device).isEmpty() ? Double.POSITIVE_INFINITY : free[device];
                double forwardStart = Math.max(free[device], forwardReady);
                double backwardStart = Math.max(free[device], backwardReady);
                double earliestOther = Math.min(forwardStart, backwardStart);
                if (weightsFillGapsOnly && weightReady != Double.POSITIVE_INFINITY) {
                    Action weight = Action.backwardWeight(device, pendingWeights.get(device).peek());
                    boolean fits = free[device] + costs.duration(weight) <= earliestOther;
                    boolean nothingElse = earliestOther == Double.POSITIVE_INFINITY;
                    if (!fits && !nothingElse) {
                        weightReady = Double.POSITIVE_INFINITY;
                    }
                }
                double weightStart = Math.max(free[device], weightReady);
                double start = Math.min(earliestOther, weightStart);
                if (start == Double.POSITIVE_INFINITY) {
                    continue;
                }
                char kind = ' ';
                int rank = Integer.MAX_VALUE;
                for (char candidate : new char[] {'F', 'B', 'W'}) {
                    double candidateStart = candidate == 'F' ? forwardStart : candidate == 'B' ? backwardStart : weightStart;
                    if (candidateStart == start && priority.rank(candidate) < rank) {
                        kind = candidate;
                        rank = priority.rank(candidate);
                    }
                }
                if (start < bestStart || (start == bestStart && rank < bestRank)) {
                    bestStart = start;
                    bestRank = rank;
                    bestDevice = device;
                    bestAction = switch (kind) {
                        case 'F' -> Action.forward(device, forwards[device]);
                        case 'B' -> Action.backwardInput(device, backwards[device]);
                        default -> Action.backwardWeight(device, pendingWeights.get(device).peek());
                    };
                }
            }
            if (bestAction == null) {
                throw new IllegalStateException("greedy construction stalled with " + remaining + " actions left");
            }
            double end = bestStart + costs.duration(bestAction);
            ends.put(bestAction, end);
            free[bestDevice] = end;
            perDevice.get(bestDevice).add(bestAction);
            switch (bestAction.kind()) {
                case FORWARD -> {
                    forwards[bestDevice]++;
                    inFlight[bestDevice]++;
                }
                case BACKWARD_INPUT -> {
                    backwards[bestDevice]++;
                    pendingWeights.get(bestDevice).add(bestAction.microBatch());
                }
                default -> {
                    pendingWeights.get(bestDevice).poll();
                    inFlight[bestDevice]--;
                }
            }
            remaining--;
        }
        return new PipelineSchedule(PipelineSchedule.loopedPlacement(devices, 1), microBatches, perDevice);
    }

    /** When the output of {@code producer} has crossed stage boundary {@code boundary}; infinite if it has not run. */
    private static double ready(Map<Action, Double> ends, Action producer, CostModel costs, int boundary) {
        Double end = ends.get(producer);
        return end == null ? Double.POSITIVE_INFINITY : end + costs.transfer(boundary);
    }
}
