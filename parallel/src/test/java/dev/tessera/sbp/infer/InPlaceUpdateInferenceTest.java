package dev.tessera.sbp.infer;

import static dev.tessera.sbp.Sbp.broadcast;
import static dev.tessera.sbp.Sbp.split;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
import dev.tessera.optim.AdamWUpdate;
import dev.tessera.optim.ClipByNorm;
import dev.tessera.optim.Optimizer;
import dev.tessera.sbp.NdSbp;
import dev.tessera.sbp.Placement;
import dev.tessera.sbp.boxing.Conversion;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The planner keeps every tensor an op writes in place (parameters, optimizer state, accumulators) where it is stored. */
class InPlaceUpdateInferenceTest {
    private static final Placement TWO = Placement.onNode(0, 2);

    /** x [64, 32] -> linear 32 -> relu -> linear 10 -> cross-entropy, trained with AdamW and clipping. */
    private static TrainingGraph training() {
        GraphBuilder g = new GraphBuilder(DType.F32);
        Tensor x = g.input("x", DType.F32, 64, 32);
        Tensor labels = g.input("labels", DType.I32, 64);
        Tensor h = g.relu(g.linear("fc1", x, 32));
        Tensor loss = g.crossEntropy(g.linear("fc2", h, 10), labels);
        LogicalGraph graph = g.build();
        return Autodiff.build(graph, loss, new TrainingOptions(2, new Optimizer.AdamW(0.9, 0.999, 1e-8, 0.01), 1.0));
    }

    private static SbpAssignment plan(TrainingGraph training, Map<String, NdSbp> hints) {
        Map<Tensor, NdSbp> byTensor = new HashMap<>();
        hints.forEach((name, sbp) -> byTensor.put(training.forward().store().tensor(name), sbp));
        return GreedySbpInference.infer(training.ops(), TWO, byTensor, CostModel.standard());
    }

    private static Op update(TrainingGraph training, String parameter) {
        return training.updateOps().stream().filter(op -> op.def() instanceof AdamWUpdate
                && op.input(0).name().equals(parameter)).findFirst().orElseThrow();
    }

    private static void assertNoMutatedInputIsBoxed(SbpAssignment a) {
        for (SbpAssignment.InsertedBoxing boxing : a.boxings()) {
            if (boxing.inputIndex() >= 0) {
                assertFalse(boxing.op().def().mutatedInputs().contains(boxing.inputIndex()),
                        "boxed '" + boxing.plan().tensor() + "', which op '" + boxing.op().name() + "' writes\n" + a);
            }
        }
    }

    @Test
    void shouldUpdateEveryParameterWhereItIsStoredUnderDataParallelism() {
        TrainingGraph training = training();
        SbpAssignment a = plan(training, Map.of("x", NdSbp.of(split(0))));
        for (Tensor p : training.parameters()) {
            NdSbp stored = a.layout(p);
            assertEquals(NdSbp.of(broadcast()), stored, p.name() + "\n" + a);
            Op update = update(training, p.name());
            for (int i : update.def().mutatedInputs()) {
                assertEquals(stored, a.signatures().get(update).inputs().get(i), update.name() + " input " + i + "\n" + a);
                assertEquals(stored, a.layout(update.input(i)), update.input(i).name() + "\n" + a);
            }
        }
        for (Op op : training.ops()) {
            for (int i : op.def().mutatedInputs()) {
                assertEquals(a.layout(op.input(i)), a.signatures().get(op).inputs().get(i), op.name() + "\n" + a);
            }
        }
        for (Tensor p : training.parameters()) {
            // Each accumulator is stored as its gradient arrives: the weights' partial sums all-reduced.
            NdSbp arriving = a.layout(training.gradient(p));
            assertEquals(arriving.withoutPartialSums(), a.layout(training.accumulator(p)), p.name() + "\n" + a);
        }
        for (String weight : List.of("fc1.weight", "fc2.weight")) {
            Tensor accumulator = training.accumulator(training.forward().store().tensor(weight));
            assertEquals(NdSbp.of(broadcast()), a.layout(accumulator), weight + "\n" + a);
        }
        assertNoMutatedInputIsBoxed(a);
        assertEquals(NdSbp.of(broadcast()), a.layout(training.gradNorm()), "every device knows the global norm");
    }

    @Test
    void shouldReduceScatterADataParallelGradientIntoAnAccumulatorHintedSplit() {
        TrainingGraph training = training();
        NdSbp rows = NdSbp.of(split(0));
        SbpAssignment a = plan(training, Map.of("x", rows, "fc1.weight.grad", rows));
        Tensor gradient = training.gradient(training.forward().store().tensor("fc1.weight"));
        assertTrue(a.boxings().stream().anyMatch(b -> b.plan().tensor().equals(gradient.name())
                && b.plan().steps().get(0).conversion() == Conversion.REDUCE_SCATTER), a.toString());
        Op clip = training.updateOps().stream().filter(op -> op.def() instanceof ClipByNorm
                && op.input(0).name().equals("fc1.weight.grad")).findFirst().orElseThrow();
        assertEquals(rows, a.signatures().get(clip).inputs().get(0), a.toString());
        assertNoMutatedInputIsBoxed(a);
    }

    @Test
    void shouldShardTheAdamStateOfAColumnParallelWeightLikeTheWeight() {
        // The accumulator follows its gradient (here whole: the row-split loss makes the weight
        // gradient a partial sum, all-reduced), the state follows the weight it updates with.
        TrainingGraph training = training();
        NdSbp columns = NdSbp.of(split(1));
        SbpAssignment a = plan(training, Map.of("x", NdSbp.of(broadcast()), "fc1.weight", columns));
        for (String tensor : List.of("fc1.weight.adam_m", "fc1.weight.adam_v")) {
            assertEquals(columns, a.layout(training.forward().store().tensor(tensor)), tensor + "\n" + a);
        }
        Op update = update(training, "fc1.weight");
        List<NdSbp> inputs = a.signatures().get(update).inputs();
        assertEquals(List.of(columns, columns, columns), List.of(inputs.get(0), inputs.get(2), inputs.get(3)),
                a.toString());
        assertNoMutatedInputIsBoxed(a);
    }

    @Test
    void shouldRejectOptimizerStateHintedApartFromItsParameterNamingOpTensorAndLayouts() {
        TrainingGraph training = training();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> plan(training,
                Map.of("x", NdSbp.of(split(0)), "fc1.weight", NdSbp.of(broadcast()),
                        "fc1.weight.adam_m", NdSbp.of(split(0)))));
        String message = e.getMessage();
        assertTrue(message.contains("'fc1.weight.update'") && message.contains("'fc1.weight.adam_m'")
                && message.contains("(S(0))") && message.contains("hint the parameter's layout"), message);
    }
}
