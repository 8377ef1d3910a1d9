package dev.tessera.sbp.infer;

import static dev.tessera.sbp.Sbp.broadcast;
import static dev.tessera.sbp.Sbp.partialSum;
import static dev.tessera.sbp.Sbp.split;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.autodiff.Autodiff;
import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.autodiff.TrainingOptions;
import dev.tessera.graph.DType;
import dev.tessera.graph.GraphBuilder;
import dev.tessera.graph.Op;
import dev.tessera.graph.Phase;
import dev.tessera.graph.Tensor;
import dev.tessera.ops.Embedding;
import dev.tessera.ops.SoftmaxCrossEntropySum;
import dev.tessera.optim.Optimizer;
import dev.tessera.sbp.NdSbp;
import dev.tessera.sbp.Placement;
import dev.tessera.sbp.boxing.Conversion;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/** The auto mode rediscovers the known-good layouts on its own, from the cost model and the memory budget. */
class AutoParallelSearchTest {
    private static final long GIB = 1L << 30;
    private static final Optimizer SGD = new Optimizer.Sgd(0, 0);
    private static final Optimizer ADAMW = new Optimizer.AdamW(0.9, 0.999, 1e-8, 0.01);

    private static TrainingGraph training(Function<GraphBuilder, Tensor> model, Optimizer optimizer) {
        GraphBuilder g = new GraphBuilder(DType.F32);
        Tensor loss = model.apply(g);
        return Autodiff.build(g.build(), loss, new TrainingOptions(1, optimizer, 0));
    }

    private static AutoParallelSearch.Result search(TrainingGraph training, Placement placement, long budget) {
        long start = System.nanoTime();
        AutoParallelSearch.Result result = AutoParallelSearch.search(training, placement, Map.of(), budget,
                CostModel.standard());
        System.out.printf("auto-parallel: %d ops, %d plans evaluated in %.0f ms: %s%n", training.ops().size(),
                result.evaluations(), (System.nanoTime() - start) / 1e6, result.estimate());
        return result;
    }

    private static Tensor tensor(TrainingGraph training, String name) {
        return training.forward().store().tensor(name);
    }

    private static List<Conversion> conversionsOf(SbpAssignment a, Tensor t) {
        return a.boxings().stream().filter(b -> b.plan().tensor().equals(t.name()))
                .flatMap(b -> b.plan().steps().stream()).map(s -> s.conversion()).toList();
    }

    @Test
    void shouldChooseDataParallelismForABatchDominatedMlp() {
        TrainingGraph training = training(g -> {
            Tensor x = g.input("x", DType.F32, 4096, 32);
            Tensor labels = g.input("labels", DType.I32, 4096);
            return g.crossEntropy(g.linear("fc2", g.relu(g.linear("fc1", x, 32)), 10), labels);
        }, SGD);
        AutoParallelSearch.Result r = search(training, Placement.onNode(0, 4), GIB);
        SbpAssignment a = r.assignment();
        NdSbp rows = NdSbp.of(split(0));
        assertEquals(rows, a.layout(tensor(training, "x")), a.toString());
        // the labels may be stored whole (16 KiB) and sliced locally, which spares the all-reduce
        // of the label count; the loss reads them split like the logits either way
        Op lossSum = training.forwardOps().stream().filter(op -> op.def() instanceof SoftmaxCrossEntropySum)
                .findFirst().orElseThrow();
        assertEquals(List.of(rows, rows), a.signatures().get(lossSum).inputs(), a.toString());
        for (String weight : List.of("fc1.weight", "fc2.weight")) {
            Tensor w = tensor(training, weight);
            assertEquals(NdSbp.of(broadcast()), a.layout(w), weight + "\n" + a);
            List<Conversion> gradient = conversionsOf(a, training.gradient(w));
            assertTrue(gradient.equals(List.of(Conversion.ALL_REDUCE))
                    || gradient.equals(List.of(Conversion.REDUCE_SCATTER)), weight + " gradient " + gradient + "\n" + a);
        }
        assertTrue(r.estimate().peakMemoryBytes() <= GIB);
    }

    /** Pre-norm residual MLP block: x -> x + linear 64 (gelu (linear 1024 (layer-norm x))). */
    private static Tensor block(GraphBuilder g, String name, Tensor x) {
        Tensor hidden = g.gelu(g.linear(name + ".fc1", g.layerNorm(name + ".ln", x), 1024));
        return g.add(x, g.linear(name + ".fc2", hidden, 64));
    }

    /**
     * Two wide blocks on x [8, 64] over 2 devices: column-parallel then row-parallel in each
     * (weights and their gradients never move), one reduction of an activation per block
     * forward (the row-parallel output) and one backward (the column-parallel input's gradient).
     */
    @Test
    void shouldChooseMegatronTensorParallelismForWideMlpBlocksWithASmallBatch() {
        TrainingGraph training = training(g -> {
            Tensor x = g.input("x", DType.F32, 8, 64);
            Tensor labels = g.input("labels", DType.I32, 8);
            return g.crossEntropy(block(g, "b2", block(g, "b1", x)), labels);
        }, SGD);
        SbpAssignment a = search(training, Placement.onNode(0, 2), GIB).assignment();
        for (String b : List.of("b1", "b2")) {
            Tensor fc1 = tensor(training, b + ".fc1.weight");
            Tensor fc2 = tensor(training, b + ".fc2.weight");
            assertEquals(NdSbp.of(split(1)), a.layout(fc1), a.toString());
            assertEquals(NdSbp.of(split(0)), a.layout(fc2), a.toString());
            for (Tensor weight : List.of(fc1, fc2)) {
                assertEquals(List.of(), conversionsOf(a, training.gradient(weight)), "local gradient\n" + a);
                assertEquals(List.of(), conversionsOf(a, weight), "weight read where stored\n" + a);
            }
        }
        // Activations whose partial sums are reduced (all-reduced, or reduce-scattered into the
        // row-split layer-norm and gathered again: sequence parallelism, the same bytes), by the
        // phase that produced them. Greedy inference boxes per consumer, so a tensor read twice
        // may be reduced twice; what counts is which tensors need it.
        Set<Tensor> reduced = a.boxings().stream().filter(b -> b.plan().type().rank() == 2)
                .filter(b -> b.plan().steps().stream().anyMatch(s -> s.conversion() == Conversion.ALL_REDUCE
                        || s.conversion() == Conversion.REDUCE_SCATTER))
                .map(b -> tensor(training, b.plan().tensor())).collect(Collectors.toSet());
        Set<String> forward = reduced.stream().filter(t -> t.producer().phase() == Phase.FORWARD).map(Tensor::name)
                .collect(Collectors.toSet());
        assertEquals(Set.of("add", "add_1"), forward, "one reduction per block forward, of its output:\n" + a);
        assertEquals(2, reduced.size() - forward.size(), "one reduction per block backward:\n" + a);
    }

    /**
     * ids [64] -> embedding [32768, 2] -> linear 8 -> cross-entropy with AdamW: replicated, the
     * table, its accumulator and both moments (4 x 256 KiB, plus its gradient) do not fit 1 MiB.
     * The table is narrower than the device count, so only its vocabulary can be split (a wide
     * table could as well split its columns, which the ring formulas rate cheaper: an all-gather
     * instead of an all-reduce).
     */
    @Test
    void shouldSplitTheVocabularyOfAnEmbeddingThatDoesNotFitReplicated() {
        TrainingGraph training = training(g -> {
            Tensor ids = g.input("ids", DType.I32, 64);
            Tensor labels = g.input("labels", DType.I32, 64);
            return g.crossEntropy(g.linear("head", g.embedding("embed", ids, 32768, 2), 8), labels);
        }, ADAMW);
        SbpAssignment a = search(training, Placement.onNode(0, 4), 1L << 20).assignment();
        assertEquals(NdSbp.of(split(0)), a.layout(tensor(training, "embed.weight")), a.toString());
        Op lookup = training.forwardOps().stream().filter(op -> op.def() instanceof Embedding).findFirst().orElseThrow();
        assertEquals(NdSbp.of(partialSum()), a.signatures().get(lookup).outputs().get(0), a.toString());
        assertTrue(conversionsOf(a, lookup.output(0)).contains(Conversion.ALL_REDUCE)
                || conversionsOf(a, lookup.output(0)).contains(Conversion.REDUCE_SCATTER), "the lookup's sum is reduced\n" + a);
    }

    /**
     * x [2048, 256] -> linear 256 -> relu -> linear 256 -> relu -> linear 10, AdamW on 4 devices:
     * a batch-dominated MLP, data parallel when memory is plentiful, whose replicated fc2 weight,
     * accumulator and Adam moments (1 MiB) then do not fit next to the activations of its
     * quarter of the batch: the budget holds data parallelism only with those sharded by rows
     * over the data axis, the gradient reduce-scattered into the shard and the weight
     * all-gathered where it is read. (fc2 is read twice, forward and for its input's gradient,
     * so sharding it costs more than its all-reduce; fc1, read once, may be sharded anyway.)
     */
    @Test
    void shouldShardTheOptimizerStateOverTheDataAxisWhenReplicatedAdamStateDoesNotFit() {
        Function<GraphBuilder, Tensor> mlp = g -> {
            Tensor x = g.input("x", DType.F32, 2048, 256);
            Tensor labels = g.input("labels", DType.I32, 2048);
            Tensor h = g.relu(g.linear("fc2", g.relu(g.linear("fc1", x, 256)), 256));
            return g.crossEntropy(g.linear("fc3", h, 10), labels);
        };
        TrainingGraph training = training(mlp, ADAMW);
        Placement four = Placement.onNode(0, 4);
        AutoParallelSearch.Result plentiful = search(training, four, GIB);
        Tensor fc2 = tensor(training, "fc2.weight");
        assertEquals(NdSbp.of(broadcast()), plentiful.assignment().layout(fc2), plentiful.assignment().toString());
        // Sharding fc2 saves 3/4 of its 1 MiB of state but gathers the weight twice (2 x 256 KiB
        // of buffers): about 256 KiB net, more than any other layout change short of tensor
        // parallelism, whose replicated activations would cost far more.
        long budget = plentiful.estimate().peakMemoryBytes() - (192L << 10);
        AutoParallelSearch.Result r = search(training, four, budget);
        SbpAssignment a = r.assignment();
        NdSbp rows = NdSbp.of(split(0));
        assertEquals(rows, a.layout(tensor(training, "x")), a.toString());
        for (String state : List.of("fc2.weight", "fc2.weight.adam_m", "fc2.weight.adam_v", "fc2.weight.grad")) {
            assertEquals(rows, a.layout(tensor(training, state)), state + "\n" + a);
        }
        assertEquals(List.of(Conversion.REDUCE_SCATTER), conversionsOf(a, training.gradient(fc2)), a.toString());
        assertTrue(conversionsOf(a, fc2).contains(Conversion.ALL_GATHER), a.toString());
        assertTrue(r.estimate().peakMemoryBytes() <= budget, r.estimate().toString());
    }

    @Test
    void shouldRejectABudgetNoLayoutFitsNamingTheBudgetAndTheSmallestMemoryFound() {
        TrainingGraph training = training(g -> {
            Tensor x = g.input("x", DType.F32, 64, 32);
            Tensor labels = g.input("labels", DType.I32, 64);
            return g.crossEntropy(g.linear("fc2", g.relu(g.linear("fc1", x, 32)), 10), labels);
        }, SGD);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> AutoParallelSearch.search(training, Placement.onNode(0, 2), Map.of(), 1024, CostModel.standard()));
        assertTrue(e.getMessage().contains("memory budget of 1.00 KiB (1024 bytes)")
                && e.getMessage().contains("smallest peak memory found is"), e.getMessage());
    }
}
