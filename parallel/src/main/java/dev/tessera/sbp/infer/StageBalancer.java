package dev.tessera.sbp.infer;

import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.graph.Op;
import dev.tessera.graph.Phase;
import dev.tessera.graph.Tensor;
import dev.tessera.graph.TensorKind;
import dev.tessera.sbp.Placement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Cuts a training graph into pipeline stages by the cost model: the forward ops, in order, are
 * split into {@code k} contiguous runs, each op taking its backward and update ops with it
 * ({@link StageRules}), so that the slowest stage is as fast as possible. A stage's time is the
 * modeled F, B and W time of its ops per micro-batch plus the time to send the activations that
 * cross its end forward and their gradients back at the link's bandwidth, so a cut where one
 * tensor (the residual stream between two blocks) crosses costs less than one in the middle of a
 * block where several do. The per-message latency is left out: a pipeline overlaps it with the
 * next micro-batch's compute, and on a small model it would outweigh all compute and push every
 * op onto the last stage. Solved exactly (dynamic programming over the cut positions).
 */
public final class StageBalancer {
    private StageBalancer() {
    }

    /**
     * What one stage does per micro-batch under the cost model.
     *
     * @param forwardSeconds F: the forward ops
     * @param inputGradientSeconds B: the backward ops computing gradients of activations
     * @param weightGradientSeconds W: the backward ops computing gradients of weights
     * @param sendSeconds sending the activations that leave the stage and, in the backward, their
     *     gradients, at the link's bandwidth (0 for the last stage)
     * @param parameterBytes the parameters the stage holds, whole
     * @param activationBytes what the stage's forward ops write for one micro-batch
     */
    public record StageCost(int stage, int forwardOps, double forwardSeconds, double inputGradientSeconds,
            double weightGradientSeconds, double sendSeconds, long parameterBytes, long activationBytes) {
        /** F + B + W + sends: the stage's time per micro-batch. */
        public double seconds() {
            return forwardSeconds + inputGradientSeconds + weightGradientSeconds + sendSeconds;
        }
    }

    /** A cut: the placement of every op off stage 0, and what each stage costs. */
    public record Balanced(Map<Op, Placement> placements, List<StageCost> costs) {
        public Balanced {
            placements = Map.copyOf(placements);
            costs = List.copyOf(costs);
        }
    }

    /**
     * @param stages the placement of each stage, stage 0 first
     * @throws IllegalArgumentException when the graph has fewer forward ops than stages
     */
    public static Balanced balance(TrainingGraph graph, List<Placement> stages, CostModel model) {
        List<Op> forward = graph.forwardOps();
        int n = forward.size();
        int k = stages.size();
        if (n < k) {
            throw new IllegalArgumentException(k + " pipeline stages need at least as many forward ops; the model has "
                    + n + ": lower parallel.pipeline");
        }
        double[] opSeconds = perForwardOpSeconds(graph, model);
        double[] prefix = new double[n + 1];
        for (int i = 0; i < n; i++) {
            prefix[i + 1] = prefix[i] + opSeconds[i];
        }
        double[] cutSeconds = new double[n + 1];
        long[] crossing = crossingBytes(forward);
        for (int j = 1; j < n; j++) {
            // the activations forward, their gradients back
            cutSeconds[j] = model.communicationSeconds(2.0 * crossing[j], 0);
        }
        // best[s][j]: the least possible slowest stage when stages 0..s-1 hold forward ops 0..j-1
        double[][] best = new double[k + 1][n + 1];
        int[][] from = new int[k + 1][n + 1];
        for (double[] row : best) {
            java.util.Arrays.fill(row, Double.POSITIVE_INFINITY);
        }
        best[0][0] = 0;
        for (int s = 1; s <= k; s++) {
            for (int j = s; j <= n - (k - s); j++) {
                for (int i = s - 1; i < j; i++) {
                    if (best[s - 1][i] == Double.POSITIVE_INFINITY) {
                        continue;
                    }
                    double stage = prefix[j] - prefix[i] + (j < n ? cutSeconds[j] : 0);
                    double worst = Math.max(best[s - 1][i], stage);
                    // ties: the earlier cut, so the result does not depend on rounding noise
                    if (worst < best[s][j] - 1e-15) {
                        best[s][j] = worst;
                        from[s][j] = i;
                    }
                }
            }
        }
        int[] starts = new int[k + 1];
        starts[k] = n;
        for (int s = k; s >= 1; s--) {
            starts[s - 1] = from[s][starts[s]];
        }
        Map<Op, Placement> fixed = new HashMap<>();
        for (int s = 0; s < k; s++) {
            for (int i = starts[s]; i < starts[s + 1]; i++) {
                fixed.put(forward.get(i), stages.get(s));
            }
        }
        Map<Op, Placement> placements = new StageRules(Map.of()).resolve(graph.ops(), stages.get(0), fixed);
        return new Balanced(placements, costs(graph, stages, placements, model));
    }

    /** What each stage costs when the ops are placed as {@code placements} says (an op it lacks is on stage 0). */
    public static List<StageCost> costs(TrainingGraph graph, List<Placement> stages, Map<Op, Placement> placements,
            CostModel model) {
        int k = stages.size();
        double[][] seconds = new double[k][3];
        int[] forwardOps = new int[k];
        long[] parameters = new long[k];
        long[] activations = new long[k];
        double[] sends = new double[k];
        Map<Tensor, Integer> producedOn = new HashMap<>();
        Set<Tensor> counted = new HashSet<>();
        long[] crossing = new long[k];
        for (Op op : graph.ops()) {
            int stage = Math.max(0, stages.indexOf(placements.getOrDefault(op, stages.get(0))));
            double opSeconds = model.seconds(op.def().cost(op.inputTypes(), op.outputTypes()).flops(), 0);
            switch (op.phase()) {
                case FORWARD -> {
                    seconds[stage][0] += opSeconds;
                    forwardOps[stage]++;
                    for (Tensor out : op.outputs()) {
                        activations[stage] += bytes(out);
                        producedOn.put(out, stage);
                    }
                    for (Tensor in : op.inputs()) {
                        if (in.kind() == TensorKind.PARAMETER && counted.add(in)) {
                            parameters[stage] += bytes(in);
                        }
                        Integer source = producedOn.get(in);
                        if (source != null && source != stage && counted.add(in)) {
                            crossing[source] += bytes(in);
                        }
                    }
                }
                case BACKWARD_INPUT -> seconds[stage][1] += opSeconds;
                case BACKWARD_WEIGHT -> seconds[stage][2] += opSeconds;
                case UPDATE -> {
                }
            }
        }
        for (int s = 0; s < k; s++) {
            sends[s] = model.communicationSeconds(2.0 * crossing[s], 0);
        }
        List<StageCost> costs = new ArrayList<>(k);
        for (int s = 0; s < k; s++) {
            costs.add(new StageCost(s, forwardOps[s], seconds[s][0], seconds[s][1], seconds[s][2], sends[s],
                    parameters[s], activations[s]));
        }
        return costs;
    }

    /** Per forward op: its own time plus that of every backward op autodiff recorded for it. */
    private static double[] perForwardOpSeconds(TrainingGraph graph, CostModel model) {
        List<Op> forward = graph.forwardOps();
        Map<Op, Integer> index = new HashMap<>();
        for (int i = 0; i < forward.size(); i++) {
            index.put(forward.get(i), i);
        }
        double[] seconds = new double[forward.size()];
        for (Op op : graph.ops()) {
            if (op.phase() == Phase.UPDATE) {
                continue;
            }
            Integer owner = op.phase() == Phase.FORWARD ? index.get(op) : op.forwardOp().map(index::get).orElse(null);
            if (owner != null) {
                seconds[owner] += model.seconds(op.def().cost(op.inputTypes(), op.outputTypes()).flops(), 0);
            }
        }
        return seconds;
    }

    /**
     * Per cut position j (between forward ops j-1 and j): the bytes of the activations written
     * before it and read at or after it.
     */
    private static long[] crossingBytes(List<Op> forward) {
        int n = forward.size();
        Map<Tensor, Integer> producedAt = new HashMap<>();
        Map<Tensor, Integer> lastReadAt = new HashMap<>();
        for (int i = 0; i < n; i++) {
            for (Tensor in : forward.get(i).inputs()) {
                lastReadAt.put(in, i);
            }
            for (Tensor out : forward.get(i).outputs()) {
                producedAt.put(out, i);
            }
        }
        long[] delta = new long[n + 2];
        producedAt.forEach((tensor, at) -> {
            Integer last = lastReadAt.get(tensor);
            if (last != null && last > at) {
                // crosses every cut j with at < j <= last
                delta[at + 1] += bytes(tensor);
                delta[last + 1] -= bytes(tensor);
            }
        });
        long[] crossing = new long[n + 1];
        long running = 0;
        for (int j = 0; j <= n; j++) {
            running += delta[j];
            crossing[j] = running;
        }
        return crossing;
    }

    private static long bytes(Tensor t) {
        return t.shape().size() * t.dtype().bytes();
    }
}
