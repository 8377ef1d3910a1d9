package dev.tessera.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.graph.DType;
import dev.tessera.graph.GraphBuilder;
import dev.tessera.graph.Initializer;
import dev.tessera.graph.Shape;
import dev.tessera.graph.ShapeException;
import dev.tessera.graph.Tensor;
import dev.tessera.graph.TensorType;
import java.util.List;
import org.junit.jupiter.api.Test;

class NeuralOpsShapeTest {
    private final GraphBuilder g = new GraphBuilder(DType.F32);

    private static void assertMentions(Exception e, String... parts) {
        for (String p : parts) {
            assertTrue(e.getMessage().contains(p), "message lacks '" + p + "': " + e.getMessage());
        }
    }

    @Test
    void shouldRejectNonSquareScoresForCausalSoftmax() {
        Tensor x = g.input("scores", DType.F32, 2, 3, 4);
        ShapeException e = assertThrows(ShapeException.class, () -> g.causalSoftmax(x));
        assertMentions(e, "softmax", "scores [2, 3, 4]", "square");
        assertEquals(x.shape(), g.softmax(x).shape());
    }

    @Test
    void shouldRejectIntegerSoftmaxInputAndBadScale() {
        Tensor ids = g.input("ids", DType.I32, 2, 3);
        assertMentions(assertThrows(ShapeException.class, () -> g.softmax(ids)), "x must be F32 or F64");
        assertThrows(IllegalArgumentException.class, () -> new Softmax(false, 0.0));
    }

    @Test
    void shouldInferLayerNormOutputsAndSavedStatistics() {
        Tensor x = g.input("x", DType.F32, 2, 3, 8);
        Tensor scale = g.parameter("scale", Initializer.constant(1), 8);
        Tensor bias = g.parameter("bias", Initializer.zeros(), 8);
        List<Tensor> out = g.applyAll(new LayerNorm(1e-5), x, scale, bias);
        assertEquals(Shape.of(2, 3, 8), out.get(0).shape());
        assertEquals(Shape.of(2, 3), out.get(1).shape());
        assertEquals(Shape.of(2, 3), out.get(2).shape());
    }

    @Test
    void shouldRejectLayerNormScaleOfWrongLength() {
        Tensor x = g.input("x", DType.F32, 4, 8);
        Tensor scale = g.parameter("scale", Initializer.constant(1), 7);
        Tensor bias = g.parameter("bias", Initializer.zeros(), 8);
        ShapeException e = assertThrows(ShapeException.class, () -> g.applyAll(new LayerNorm(1e-5), x, scale, bias));
        assertMentions(e, "layer_norm", "scale must be a vector as long as the last axis of x (8)", "[7]");
    }

    @Test
    void shouldRejectCrossEntropyLabelsOfWrongShapeOrType() {
        Tensor logits = g.input("logits", DType.F32, 4, 10);
        Tensor wrongShape = g.input("labels", DType.I32, 5);
        assertMentions(assertThrows(ShapeException.class, () -> g.crossEntropy(logits, wrongShape)),
                "softmax_cross_entropy", "labels [5]", "[4]");
        Tensor floatLabels = g.input("float_labels", DType.F32, 4);
        assertMentions(assertThrows(ShapeException.class, () -> g.crossEntropy(logits, floatLabels)),
                "labels must be I32");
    }

    @Test
    void shouldFlattenSequenceLogitsForFlatLabelsAndReturnScalarLoss() {
        Tensor logits = g.input("logits", DType.F32, 2, 3, 10);
        Tensor flat = g.input("flat_labels", DType.I32, 6);
        Tensor nested = g.input("nested_labels", DType.I32, 2, 3);
        assertEquals(Shape.scalar(), g.crossEntropy(logits, flat).shape());
        assertEquals(Shape.scalar(), g.crossEntropy(logits, nested).shape());
        SoftmaxCrossEntropySum ce = new SoftmaxCrossEntropySum();
        assertFalse(ce.differentiable(1));
        assertTrue(ce.differentiable(0));
        assertFalse(new CountLabels(DType.F32).differentiable(0));
        assertTrue(new DivideByCount().differentiable(0));
        assertFalse(new DivideByCount().differentiable(1));
    }

    @Test
    void shouldRejectEmbeddingTableThatIsNotAMatrix() {
        Tensor ids = g.input("ids", DType.I32, 2, 5);
        Tensor table = g.parameter("table", Initializer.normal(1), 10, 4, 2);
        assertMentions(assertThrows(ShapeException.class, () -> g.apply(new Embedding(), table, ids)),
                "embedding", "table must be a [vocabulary, dimension] matrix");
        assertEquals(Shape.of(2, 5, 16), g.embedding("tokens", ids, 100, 16).shape());
        assertFalse(new Embedding().differentiable(1));
    }

    @Test
    void shouldRejectEmbeddingGradientOfMismatchedPositions() {
        EmbeddingGrad grad = new EmbeddingGrad(10);
        assertThrows(IllegalArgumentException.class, () -> grad.inferOutputs(
                List.of(TensorType.of(DType.F32, 3, 4), TensorType.of(DType.I32, 2))));
        assertEquals(List.of(TensorType.of(DType.F32, 10, 4)),
                grad.inferOutputs(List.of(TensorType.of(DType.F32, 2, 3, 4), TensorType.of(DType.I32, 2, 3))));
    }

    @Test
    void shouldBuildAttentionWithNamedParametersAndRejectIndivisibleHeads() {
        Tensor x = g.input("x", DType.F32, 2, 5, 12);
        Tensor y = g.attention("attn", x, 3, true);
        assertEquals(Shape.of(2, 5, 12), y.shape());
        List<String> names = g.build().parameters().stream().map(Tensor::name).toList();
        assertEquals(List.of("attn.q.weight", "attn.q.bias", "attn.k.weight", "attn.v.weight",
                "attn.v.bias", "attn.proj.weight", "attn.proj.bias"), names);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> g.attention("bad", x, 5, true));
        assertMentions(e, "'bad'", "12", "5 heads");
    }
}
