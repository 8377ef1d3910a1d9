package dev.tessera.bench;

import dev.tessera.autodiff.Autodiff;
import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.autodiff.TrainingOptions;
import dev.tessera.graph.DType;
import dev.tessera.graph.GraphBuilder;
import dev.tessera.graph.Initializer;
import dev.tessera.graph.Op;
import dev.tessera.graph.Tensor;
import dev.tessera.optim.Optimizer;
import dev.tessera.sbp.NdSbp;
import dev.tessera.sbp.Placement;
import dev.tessera.sbp.Sbp;
import dev.tessera.sbp.boxing.BoxingStep;
import dev.tessera.sbp.infer.CostModel;
import dev.tessera.sbp.infer.GreedySbpInference;
import dev.tessera.sbp.infer.SbpAssignment;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Planning time (issue 4): greedy SBP inference over the whole training graph (forward,
 * backward, update) of a 96-layer GPT-style model on a [64, 8, 8] hierarchy of 4096 devices.
 * The batch is split over the first axis; everything else is inferred. Shapes only matter for
 * the costs, so nothing is allocated or run.
 *
 * <p>Arguments (all optional): layers (96), d_model (1024), heads (16), sequence (1024), batch
 * per data rank (8), warm-up runs (2), timed repeats (5), hierarchy (64,8,8).
 */
public final class PlannerBenchmark {
    private static final int VOCABULARY = 50_304;

    private PlannerBenchmark() {
    }

    public static void main(String[] args) {
        int layers = intArg(args, 0, 96);
        int model = intArg(args, 1, 1024);
        int heads = intArg(args, 2, 16);
        int sequence = intArg(args, 3, 1024);
        int batchPerRank = intArg(args, 4, 8);
        int warmups = intArg(args, 5, 2);
        int repeats = intArg(args, 6, 5);
        int[] hierarchy = args.length > 7 ? Arrays.stream(args[7].split(",")).mapToInt(Integer::parseInt).toArray()
                : new int[] {64, 8, 8};
        int batch = batchPerRank * hierarchy[0];

        long buildStart = System.nanoTime();
        GraphBuilder g = new GraphBuilder(DType.F32);
        Tensor tokens = g.input("tokens", DType.I32, batch, sequence);
        Tensor targets = g.input("targets", DType.I32, batch, sequence);
        Tensor loss = gpt(g, tokens, targets, layers, model, heads);
        TrainingGraph graph = Autodiff.build(g.build(), loss,
                new TrainingOptions(1, new Optimizer.AdamW(0.9, 0.95, 1e-8, 0.1), 1.0));
        double buildSeconds = (System.nanoTime() - buildStart) / 1e9;
        List<Op> ops = graph.ops();
        Set<Tensor> tensors = new HashSet<>();
        for (Op op : ops) {
            tensors.addAll(op.inputs());
            tensors.addAll(op.outputs());
        }

        Placement placement = Placement.onNode(0, hierarchy);
        Map<Tensor, NdSbp> hints = Map.of(tokens, dataSplit(hierarchy.length), targets, dataSplit(hierarchy.length));
        System.out.printf(Locale.ROOT, "GPT training graph: %d layers, d_model %d, %d heads, sequence %d, batch %d "
                        + "(%d per rank of axis 0), vocabulary %d: %d ops, %d tensors, %d parameters; built in %.2f s%n",
                layers, model, heads, sequence, batch, batchPerRank, VOCABULARY, ops.size(), tensors.size(),
                graph.forward().parameterCount(), buildSeconds);
        System.out.println("placement: " + placement.size() + " devices as " + Arrays.toString(hierarchy)
                + ", hints: tokens and targets " + dataSplit(hierarchy.length));

        SbpAssignment last = null;
        for (int i = 0; i < warmups; i++) {
            last = time("warm-up " + (i + 1), ops, placement, hints);
        }
        double[] seconds = new double[repeats];
        for (int r = 0; r < repeats; r++) {
            long start = System.nanoTime();
            last = GreedySbpInference.infer(ops, placement, hints, CostModel.standard());
            seconds[r] = (System.nanoTime() - start) / 1e9;
            System.out.printf(Locale.ROOT, "repeat %d: %.3f s%n", r + 1, seconds[r]);
        }
        double[] sorted = seconds.clone();
        Arrays.sort(sorted);
        double median = sorted.length % 2 == 1 ? sorted[sorted.length / 2]
                : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
        System.out.printf(Locale.ROOT, "greedy SBP inference: median %.3f s, min %.3f s, max %.3f s over %d repeats; "
                        + "%d conversions inserted, %.3e bytes per iteration over all devices%n",
                median, sorted[0], sorted[sorted.length - 1], repeats, last.boxings().size(), last.totalBoxingBytes());
        // What the plan spends its traffic on, to judge the layout the timed pass produced.
        Map<String, double[]> byKind = new java.util.TreeMap<>();
        for (SbpAssignment.InsertedBoxing b : last.boxings()) {
            if (b.shared()) {
                continue;
            }
            for (BoxingStep step : b.plan().steps()) {
                double[] entry = byKind.computeIfAbsent(step.conversion().toString(), k -> new double[2]);
                entry[0]++;
                entry[1] += step.totalBytes();
            }
        }
        byKind.forEach((kind, entry) -> System.out.printf(Locale.ROOT, "  %-15s %6.0f steps, %.3e bytes%n", kind, entry[0],
                entry[1]));
    }

    private static SbpAssignment time(String label, List<Op> ops, Placement placement, Map<Tensor, NdSbp> hints) {
        long start = System.nanoTime();
        SbpAssignment result = GreedySbpInference.infer(ops, placement, hints, CostModel.standard());
        System.out.printf(Locale.ROOT, "%s: %.3f s%n", label, (System.nanoTime() - start) / 1e9);
        return result;
    }

    /** S(0) on the first hierarchy axis, B on the others. */
    private static NdSbp dataSplit(int axes) {
        return NdSbp.uniform(axes, Sbp.broadcast()).with(0, Sbp.split(0));
    }

    /** Token and position embeddings, pre-LN blocks (causal attention, 4x GELU MLP), final LN, head, loss. */
    private static Tensor gpt(GraphBuilder g, Tensor tokens, Tensor targets, int layers, int d, int heads) {
        int batch = tokens.shape().dim(0);
        int t = tokens.shape().dim(1);
        Tensor x = g.embedding("token_embedding", tokens, VOCABULARY, d);
        Tensor positions;
        try (GraphBuilder.Scope s = g.scope("position_embedding")) {
            positions = g.parameter("weight", Initializer.normal(0.02), t, d);
        }
        x = g.reshape(g.biasAdd(g.reshape(x, batch, t * d), g.reshape(positions, t * d)), batch, t, d);
        for (int i = 0; i < layers; i++) {
            try (GraphBuilder.Scope block = g.scope("block" + i)) {
                x = g.add(x, g.attention("attention", g.layerNorm("ln1", x), heads, true));
                Tensor hidden = g.gelu(g.linear("fc", g.layerNorm("ln2", x), 4 * d));
                x = g.add(x, g.linear("proj", hidden, d));
            }
        }
        Tensor logits = g.linear("head", g.layerNorm("ln_final", x), VOCABULARY);
        return g.crossEntropy(logits, targets);
    }

    private static int intArg(String[] args, int index, int fallback) {
        return args.length > index ? Integer.parseInt(args[index]) : fallback;
    }
}
