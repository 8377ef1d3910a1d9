package dev.tessera.autodiff;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.graph.DType;
import dev.tessera.graph.GraphBuilder;
import dev.tessera.graph.Initializer;
import dev.tessera.graph.Op;
import dev.tessera.graph.Phase;
import dev.tessera.graph.Tensor;
import dev.tessera.ops.MatMul;
import dev.tessera.ops.SumRows;
import dev.tessera.optim.AdamWUpdate;
import dev.tessera.optim.ClipByNorm;
import dev.tessera.optim.GlobalNorm;
import dev.tessera.optim.Optimizer;
import dev.tessera.optim.SquaredNorm;
import java.util.List;
import org.junit.jupiter.api.Test;

class AutodiffTest {
    private static final TrainingOptions SGD = new TrainingOptions(1, new Optimizer.Sgd(0.9, 0), 0);

    /** Two linear layers: x -> fc1 -> fc2 -> reshape to a scalar. */
    private static TrainingGraph twoLayers(TrainingOptions options) {
        GraphBuilder g = new GraphBuilder(DType.F32);
        Tensor x = g.input("x", DType.F32, 4, 3);
        Tensor h = g.linear("fc1", x, 5);
        Tensor y = g.linear("fc2", h, 1);
        Tensor loss = g.reshape(g.matmul(y, y, true, false));
        return Autodiff.build(g.build(), loss, options);
    }

    @Test
    void shouldPutWeightGradientsInWAndActivationGradientsInB() {
        TrainingGraph t = twoLayers(SGD);
        for (Op op : t.backwardOps()) {
            boolean feedsOnlyWeights = op.def() instanceof SumRows
                    || (op.def() instanceof MatMul m && m.transposeA())
                    || op.def() instanceof AccumulateGrad;
            assertEquals(feedsOnlyWeights ? Phase.BACKWARD_WEIGHT : Phase.BACKWARD_INPUT, op.phase(), op.toString());
        }
        // fc2's input gradient (dy @ W2^T) is B: fc1's weight gradient needs it.
        assertTrue(t.opsOfPhase(Phase.BACKWARD_INPUT).stream()
                .anyMatch(op -> op.def() instanceof MatMul m && m.transposeB() && op.name().startsWith("fc2")));
    }

    @Test
    void shouldRecordTheForwardOpOfEveryBackwardAndUpdateOpWithoutNamingIt() {
        TrainingGraph t = twoLayers(new TrainingOptions(2, new Optimizer.AdamW(0.9, 0.999, 1e-8, 0.1), 1.0));
        for (Op op : t.forwardOps()) {
            assertTrue(op.forwardOp().isEmpty(), op.toString());
        }
        for (Op op : t.backwardOps()) {
            Op forward = op.forwardOp().orElseThrow(() -> new AssertionError("no forward op for " + op));
            assertEquals(Phase.FORWARD, forward.phase(), op.toString());
            if (op.name().endsWith(".grad")) {
                assertEquals(op.name(), forward.name() + ".grad", "a gradient op belongs to the op it differentiates");
            }
        }
        for (Tensor p : t.parameters()) {
            Op firstReader = t.forwardOps().stream().filter(op -> op.inputs().contains(p)).findFirst().orElseThrow();
            for (Op op : t.ops()) {
                boolean ofParameter = op.inputs().contains(p) && op.phase() == Phase.UPDATE
                        || op.inputs().contains(t.accumulator(p));
                if (ofParameter) {
                    assertEquals(firstReader, op.forwardOp().orElseThrow(), op + " belongs to " + p.name() + "'s reader");
                }
            }
        }
        assertTrue(t.gradNorm().producer().forwardOp().isEmpty(), "the global norm belongs to no single op");
    }

    @Test
    void shouldNotDifferentiateTowardDataInputs() {
        TrainingGraph t = twoLayers(SGD);
        // The first layer's input is data: no op computes dx = dy @ W1^T.
        assertTrue(t.backwardOps().stream()
                .noneMatch(op -> op.def() instanceof MatMul m && m.transposeB() && op.name().startsWith("fc1")));
    }

    @Test
    void shouldMakeEveryWeightGradientDependOnlyOnBOpsAndForward() {
        TrainingGraph t = twoLayers(SGD);
        for (Op op : t.opsOfPhase(Phase.BACKWARD_INPUT)) {
            for (Tensor in : op.inputs()) {
                Op producer = in.producer();
                assertTrue(producer == null || producer.phase() != Phase.BACKWARD_WEIGHT,
                        "B op " + op + " depends on W op " + producer);
            }
        }
    }

    @Test
    void shouldCreateOneAccumulatorAndUpdatePerParameter() {
        TrainingGraph t = twoLayers(new TrainingOptions(2, new Optimizer.AdamW(0.9, 0.999, 1e-8, 0.1), 1.0));
        assertEquals(4, t.parameters().size());
        for (Tensor p : t.parameters()) {
            assertEquals(p.shape(), t.accumulator(p).shape());
        }
        assertEquals(8, t.optimizerState().size());
        long updates = t.updateOps().stream().filter(op -> op.def() instanceof AdamWUpdate).count();
        assertEquals(4, updates);
        // Weight decay applies to matrices only.
        for (Op op : t.updateOps()) {
            if (op.def() instanceof AdamWUpdate a) {
                assertEquals(op.input(0).shape().rank() >= 2 ? 0.1 : 0.0, a.weightDecay(), op.toString());
            }
        }
    }

    @Test
    void shouldMeasureTheGlobalNormFromOneSquaredNormPerAccumulatorAndClipEachBeforeItsUpdate() {
        TrainingGraph t = twoLayers(new TrainingOptions(1, new Optimizer.AdamW(0.9, 0.999, 1e-8, 0.1), 1.0));
        Op norm = t.gradNorm().producer();
        assertTrue(norm.def() instanceof GlobalNorm, norm.toString());
        assertEquals(t.parameters().stream().map(t::accumulator).toList(),
                norm.inputs().stream().map(s -> s.producer()).peek(op -> assertTrue(op.def() instanceof SquaredNorm))
                        .map(op -> op.input(0)).toList());
        List<Op> update = t.updateOps();
        for (Tensor p : t.parameters()) {
            Op clip = update.stream().filter(op -> op.def() instanceof ClipByNorm && op.input(0) == t.accumulator(p))
                    .findFirst().orElseThrow();
            assertEquals(t.gradNorm(), clip.input(1));
            Op step = update.stream().filter(op -> op.def() instanceof AdamWUpdate && op.input(0) == p)
                    .findFirst().orElseThrow();
            assertTrue(update.indexOf(norm) < update.indexOf(clip) && update.indexOf(clip) < update.indexOf(step));
        }
    }

    @Test
    void shouldOnlyMeasureTheNormWithoutClipping() {
        TrainingGraph t = twoLayers(SGD);
        assertTrue(t.gradNorm().producer().def() instanceof GlobalNorm);
        assertTrue(t.updateOps().stream().noneMatch(op -> op.def() instanceof ClipByNorm));
    }

    @Test
    void shouldSeedWithOneOverMicroBatches() {
        TrainingGraph t = twoLayers(new TrainingOptions(4, new Optimizer.Sgd(0, 0), 0));
        GradientSeed seed = (GradientSeed) t.backwardOps().get(0).def();
        assertEquals(0.25, seed.value());
    }

    @Test
    void shouldRejectNonScalarLoss() {
        GraphBuilder g = new GraphBuilder(DType.F32);
        Tensor x = g.input("x", DType.F32, 4, 3);
        Tensor y = g.linear("fc", x, 2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Autodiff.build(g.build(), y, SGD));
        assertTrue(e.getMessage().contains("must be a scalar"), e.getMessage());
    }

    @Test
    void shouldRejectLossWithoutParameters() {
        GraphBuilder g = new GraphBuilder(DType.F32);
        Tensor x = g.input("x", DType.F32, 1, 1);
        Tensor loss = g.reshape(x);
        assertThrows(IllegalArgumentException.class, () -> Autodiff.build(g.build(), loss, SGD));
    }

    @Test
    void shouldLeaveUnusedParameterWithoutGradient() {
        GraphBuilder g = new GraphBuilder(DType.F32);
        Tensor x = g.input("x", DType.F32, 2, 2);
        Tensor unused = g.parameter("unused", Initializer.zeros(), 3);
        Tensor loss = g.reshape(g.matmul(g.reshape(g.linear("fc", x, 1), 1, 2), g.reshape(x, 2, 2)), 2);
        loss = g.reshape(g.matmul(g.reshape(loss, 1, 2), g.reshape(loss, 2, 1)));
        TrainingGraph t = Autodiff.build(g.build(), loss, SGD);
        assertNull(t.gradient(unused));
        assertEquals(List.of("fc.weight", "fc.bias"),
                t.parameters().stream().filter(p -> t.gradient(p) != null).map(Tensor::name).toList());
    }
}
