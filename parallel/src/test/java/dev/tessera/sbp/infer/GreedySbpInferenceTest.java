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
import dev.tessera.graph.LogicalGraph;
import dev.tessera.graph.Op;
import dev.tessera.graph.Tensor;
import dev.tessera.ops.SoftmaxCrossEntropySum;
import dev.tessera.ops.SoftmaxCrossEntropySumGrad;
import dev.tessera.optim.Optimizer;
import dev.tessera.sbp.NdSbp;
import dev.tessera.sbp.Placement;
import dev.tessera.sbp.boxing.Conversion;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class GreedySbpInferenceTest {

    /** x [64, 32] -> linear 32 -> relu -> linear 10 -> cross-entropy. */
    private static LogicalGraph mlp() {
        GraphBuilder g = new GraphBuilder(DType.F32);
        Tensor x = g.input("x", DType.F32, 64, 32);
        Tensor labels = g.input("labels", DType.I32, 64);
        Tensor h = g.relu(g.linear("fc1", x, 32));
        g.crossEntropy(g.linear("fc2", h, 10), labels);
        return g.build();
    }

    private static List<Tensor> hiddenActivations(LogicalGraph graph) {
        return graph.ops().stream().map(op -> op.output(0)).filter(t -> t.shape().rank() > 0).toList();
    }

    @Test
    void shouldChooseDataParallelismForAnMlpWhoseBatchIsSplit() {
        LogicalGraph graph = mlp();
        Placement four = Placement.onNode(0, 4);
        SbpAssignment a = GreedySbpInference.infer(graph, four, Map.of(graph.tensor("x"), NdSbp.of(split(0))),
                CostModel.standard());
        for (Tensor p : graph.parameters()) {
            assertEquals(NdSbp.of(broadcast()), a.layout(p), p.name() + "\n" + a);
        }
        for (Tensor t : hiddenActivations(graph)) {
            assertEquals(NdSbp.of(split(0)), a.layout(t), t.name() + "\n" + a);
        }
    }

    @Test
    void shouldChooseDataParallelismOverBothAxesOfATwoDimensionalHierarchy() {
        LogicalGraph graph = mlp();
        NdSbp rows = NdSbp.of(split(0), split(0));
        SbpAssignment a = GreedySbpInference.infer(graph, Placement.onNode(0, 2, 2), Map.of(graph.tensor("x"), rows),
                CostModel.standard());
        for (Tensor p : graph.parameters()) {
            assertEquals(NdSbp.of(broadcast(), broadcast()), a.layout(p), p.name() + "\n" + a);
        }
        for (Tensor t : hiddenActivations(graph)) {
            assertEquals(rows, a.layout(t), t.name() + "\n" + a);
        }
    }

    /**
     * The row-parallel layer's partial logits are reduce-scattered by rows into the row-split
     * loss (half the bytes of the all-reduce a broadcast-only loss needed); only the loss's
     * scalar sum and count are all-reduced.
     */
    @Test
    void shouldFollowAColumnParallelWeightHintWithARowParallelLayerAndReduceScatterTheLogitsIntoTheLoss() {
        LogicalGraph graph = mlp();
        Placement four = Placement.onNode(0, 4);
        SbpAssignment a = GreedySbpInference.infer(graph, four, Map.of(graph.tensor("x"), NdSbp.of(broadcast()),
                graph.tensor("fc1.weight"), NdSbp.of(split(1))), CostModel.standard());
        // unhinted, the second weight stays replicated and is read row by row through a local slice
        assertEquals(NdSbp.of(broadcast()), a.layout(graph.tensor("fc2.weight")), a.toString());
        Op secondMatmul = graph.ops().stream()
                .filter(op -> op.inputs().contains(graph.tensor("fc2.weight"))).findFirst().orElseThrow();
        assertEquals(NdSbp.of(split(0)), a.signatures().get(secondMatmul).inputs().get(1), a.toString());
        assertEquals(NdSbp.of(partialSum()), a.signatures().get(secondMatmul).outputs().get(0), a.toString());
        List<Conversion> communicating = a.boxings().stream().flatMap(b -> b.plan().steps().stream())
                .map(s -> s.conversion()).filter(Conversion::communicates).toList();
        assertEquals(List.of(Conversion.REDUCE_SCATTER, Conversion.ALL_REDUCE, Conversion.ALL_REDUCE), communicating,
                a.toString());
        assertTrue(a.boxings().stream().filter(b -> b.plan().steps().get(0).conversion() == Conversion.ALL_REDUCE)
                .allMatch(b -> b.plan().type().rank() == 0), "only scalars all-reduced:\n" + a);
        assertEquals(NdSbp.of(broadcast()), a.layout(graph.tensor("fc2.bias")), "parameters are never stored as partial sums");
    }

    @Test
    void shouldAllReduceTheWeightGradientsOfADataParallelTrainingGraph() {
        LogicalGraph graph = mlp();
        Tensor loss = graph.ops().get(graph.ops().size() - 1).output(0);
        TrainingGraph training = Autodiff.build(graph, loss, new TrainingOptions(1, new Optimizer.Sgd(0, 0), 0));
        SbpAssignment a = GreedySbpInference.infer(training.ops(), Placement.onNode(0, 4),
                Map.of(graph.tensor("x"), NdSbp.of(split(0))), CostModel.standard());
        for (String weight : List.of("fc1.weight", "fc2.weight")) {
            Tensor gradient = training.gradient(graph.tensor(weight));
            assertEquals(NdSbp.of(partialSum()), a.layout(gradient), weight + "\n" + a);
            assertTrue(a.boxings().stream().anyMatch(b -> b.plan().tensor().equals(gradient.name())
                    && b.plan().steps().get(0).conversion() == Conversion.ALL_REDUCE), weight + "\n" + a);
            assertEquals(NdSbp.of(broadcast()), a.layout(graph.tensor(weight)), weight + "\n" + a);
        }
    }

    /**
     * The loss splits with the rows: its sum and its label count are partial sums, all-reduced
     * as scalars before the division, so the logits and labels are never gathered, forward or
     * backward.
     */
    @Test
    void shouldKeepTheLogitsSplitThroughTheLossOfADataParallelTrainingGraph() {
        LogicalGraph graph = mlp();
        Tensor loss = graph.ops().get(graph.ops().size() - 1).output(0);
        TrainingGraph training = Autodiff.build(graph, loss, new TrainingOptions(1, new Optimizer.Sgd(0, 0), 0));
        NdSbp rows = NdSbp.of(split(0));
        SbpAssignment a = GreedySbpInference.infer(training.ops(), Placement.onNode(0, 2),
                Map.of(graph.tensor("x"), rows, graph.tensor("labels"), rows), CostModel.standard());
        Op lossSum = onlyOp(training.ops(), SoftmaxCrossEntropySum.class);
        Tensor logits = lossSum.input(0);
        for (Tensor t : List.of(logits, graph.tensor("labels"), lossSum.output(1),
                onlyOp(training.ops(), SoftmaxCrossEntropySumGrad.class).output(0))) {
            assertEquals(rows, a.layout(t), t.name() + "\n" + a);
        }
        assertTrue(a.boxings().stream().noneMatch(b -> b.plan().tensor().equals(logits.name())
                || b.plan().tensor().equals("labels")), "logits and labels stay split:\n" + a);
        Tensor sum = lossSum.output(0);
        assertEquals(NdSbp.of(partialSum()), a.layout(sum), a.toString());
        assertTrue(a.boxings().stream().anyMatch(b -> b.plan().tensor().equals(sum.name())
                && b.plan().steps().get(0).conversion() == Conversion.ALL_REDUCE), a.toString());
        assertEquals(NdSbp.of(broadcast()), a.layout(loss), a.toString());
    }

    private static Op onlyOp(List<Op> ops, Class<?> type) {
        List<Op> found = ops.stream().filter(op -> type.isInstance(op.def())).toList();
        assertEquals(1, found.size(), type.getSimpleName() + " ops: " + found);
        return found.get(0);
    }

    @Test
    void shouldRejectAHintThatDoesNotFitTheTensor() {
        LogicalGraph graph = mlp();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> GreedySbpInference.infer(graph,
                Placement.onNode(0, 4), Map.of(graph.tensor("labels"), NdSbp.of(split(1))), CostModel.standard()));
        assertTrue(e.getMessage().contains("'labels'") && e.getMessage().contains("S(1)"), e.getMessage());
    }
}
