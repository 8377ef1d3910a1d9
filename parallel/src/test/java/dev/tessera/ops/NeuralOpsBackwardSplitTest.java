package dev.tessera.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.tessera.autodiff.Autodiff;
import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.autodiff.TrainingOptions;
import dev.tessera.graph.DType;
import dev.tessera.graph.GraphBuilder;
import dev.tessera.graph.Op;
import dev.tessera.graph.OpDef;
import dev.tessera.graph.Phase;
import dev.tessera.graph.Tensor;
import dev.tessera.optim.Optimizer;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The weight gradients of layer norm and embedding must land in W ops, activation gradients in B ops. */
class NeuralOpsBackwardSplitTest {

    private static TrainingGraph tinyLanguageModel() {
        GraphBuilder g = new GraphBuilder(DType.F32);
        Tensor tokens = g.input("tokens", DType.I32, 2, 4);
        Tensor targets = g.input("targets", DType.I32, 2, 4);
        Tensor h = g.embedding("embed", tokens, 11, 8);
        h = g.add(h, g.attention("attn", g.layerNorm("ln1", h), 2, true));
        Tensor loss = g.crossEntropy(g.linear("head", g.layerNorm("ln2", h), 11), targets);
        return Autodiff.build(g.build(), loss, new TrainingOptions(1, new Optimizer.Sgd(0, 0), 0));
    }

    private static List<Phase> phasesOf(TrainingGraph t, Class<? extends OpDef> type) {
        List<Phase> phases = t.backwardOps().stream().filter(op -> type.isInstance(op.def())).map(Op::phase).toList();
        assertFalse(phases.isEmpty(), "no " + type.getSimpleName() + " op in the backward graph");
        return phases;
    }

    @Test
    void shouldPutLayerNormAndEmbeddingWeightGradientsInWeightPhase() {
        TrainingGraph t = tinyLanguageModel();
        assertEquals(List.of(Phase.BACKWARD_WEIGHT, Phase.BACKWARD_WEIGHT), phasesOf(t, LayerNormGradWeight.class));
        assertEquals(List.of(Phase.BACKWARD_WEIGHT), phasesOf(t, EmbeddingGrad.class));
    }

    @Test
    void shouldPutActivationGradientsInInputPhase() {
        TrainingGraph t = tinyLanguageModel();
        assertEquals(List.of(Phase.BACKWARD_INPUT, Phase.BACKWARD_INPUT), phasesOf(t, LayerNormGradInput.class));
        assertEquals(List.of(Phase.BACKWARD_INPUT), phasesOf(t, SoftmaxGrad.class));
        assertEquals(List.of(Phase.BACKWARD_INPUT), phasesOf(t, SoftmaxCrossEntropySumGrad.class));
        assertEquals(List.of(Phase.BACKWARD_INPUT), phasesOf(t, DivideByCount.class));
    }
}
