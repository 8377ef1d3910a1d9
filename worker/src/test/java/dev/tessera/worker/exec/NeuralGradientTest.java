package dev.tessera.worker.exec;

import static dev.tessera.worker.GradientCheck.check;
import static dev.tessera.worker.GradientCheck.project;

import dev.tessera.graph.DType;
import dev.tessera.graph.GraphBuilder;
import dev.tessera.graph.Initializer;
import dev.tessera.graph.Shape;
import dev.tessera.graph.Tensor;
import dev.tessera.ops.Embedding;
import dev.tessera.ops.LayerNorm;
import dev.tessera.ops.Softmax;
import dev.tessera.ops.CountLabels;
import dev.tessera.ops.DivideByCount;
import dev.tessera.ops.SoftmaxCrossEntropySum;
import dev.tessera.tensor.HostTensor;
import dev.tessera.worker.GradientCheck;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** F64 central-difference checks of the neural-network ops' gradient rules and kernels, alone and composed. */
class NeuralGradientTest {
    private static Tensor dataInput(GraphBuilder g, Map<String, HostTensor> in, String name, long seed, int... dims) {
        in.put(name, GradientCheck.random(Shape.of(dims), seed));
        return g.input(name, DType.F64, dims);
    }

    private static Tensor ints(GraphBuilder g, Map<String, HostTensor> in, String name, int[] values, int... dims) {
        in.put(name, HostTensor.ofInts(Shape.of(dims), values));
        return g.input(name, DType.I32, dims);
    }

    @Test
    void shouldDifferentiateSoftmax() {
        check((g, in) -> {
            Tensor x = g.parameter("x", Initializer.normal(1), 2, 3, 4);
            return project(g, in, g.softmax(x));
        });
    }

    @Test
    void shouldDifferentiateScaledCausalSoftmax() {
        check((g, in) -> {
            Tensor x = g.parameter("x", Initializer.normal(1), 2, 4, 4);
            return project(g, in, g.apply(new Softmax(true, 0.7), x));
        });
    }

    @Test
    void shouldDifferentiateLayerNormInputScaleAndBias() {
        check((g, in) -> {
            Tensor x = g.parameter("x", Initializer.normal(1), 2, 3, 5);
            Tensor scale = g.parameter("scale", Initializer.normal(1), 5);
            Tensor bias = g.parameter("bias", Initializer.normal(1), 5);
            return project(g, in, g.applyAll(new LayerNorm(1e-5), x, scale, bias).get(0));
        });
    }

    @Test
    void shouldDifferentiateLayerNormOfDataInputThroughBuilder() {
        check((g, in) -> {
            Tensor x = dataInput(g, in, "x", 5, 4, 6);
            return project(g, in, g.layerNorm("ln", x));
        });
    }

    @Test
    void shouldDifferentiateCrossEntropyWithIgnoredLabels() {
        check((g, in) -> {
            Tensor logits = g.parameter("logits", Initializer.normal(2), 5, 4);
            Tensor labels = ints(g, in, "labels", new int[] {3, -1, 0, 3, -100}, 5);
            return g.crossEntropy(logits, labels);
        });
    }

    @Test
    void shouldDifferentiateSummedCrossEntropyWithIgnoredLabels() {
        check((g, in) -> {
            Tensor logits = g.parameter("logits", Initializer.normal(2), 2, 3, 4);
            Tensor labels = ints(g, in, "labels", new int[] {3, -1, 0, 2, -100, 1}, 2, 3);
            return g.applyAll(new SoftmaxCrossEntropySum(), logits, labels).get(0);
        });
    }

    /** The sum is scaled by a non-unit gradient so that the division's own gradient is exercised. */
    @Test
    void shouldDifferentiateDivisionByTheLabelCount() {
        check((g, in) -> {
            Tensor x = g.parameter("x", Initializer.normal(1), 3, 2);
            Tensor labels = ints(g, in, "labels", new int[] {1, -1, 0, 4, -3}, 5);
            Tensor count = g.apply(new CountLabels(DType.F64), labels);
            Tensor sum = project(g, in, g.tanh(x));
            return g.scale(g.apply(new DivideByCount(), sum, count), 1.7);
        });
    }

    @Test
    void shouldDifferentiateCrossEntropyOverFlattenedSequence() {
        check((g, in) -> {
            Tensor logits = g.parameter("logits", Initializer.normal(1), 2, 3, 4);
            Tensor labels = ints(g, in, "labels", new int[] {0, 1, 2, 3, -1, 2}, 6);
            return g.crossEntropy(logits, labels);
        });
    }

    @Test
    void shouldDifferentiateEmbeddingTableWithRepeatedIds() {
        check((g, in) -> {
            Tensor table = g.parameter("table", Initializer.normal(1), 5, 3);
            Tensor ids = ints(g, in, "ids", new int[] {4, 0, 4, 2, 2, 2}, 2, 3);
            return project(g, in, g.apply(new Embedding(), table, ids));
        });
    }

    @Test
    void shouldDifferentiateCausalAttentionBlock() {
        check((g, in) -> {
            Tensor x = g.parameter("x", Initializer.normal(1), 2, 3, 4);
            return project(g, in, g.attention("attn", x, 2, true));
        });
    }

    @Test
    void shouldDifferentiateNonCausalAttentionOnDataInput() {
        check((g, in) -> {
            Tensor x = dataInput(g, in, "x", 9, 1, 3, 4);
            return project(g, in, g.attention("attn", x, 1, false));
        });
    }

    /** Embedding, pre-norm causal attention with a residual, layer norm, vocabulary projection, loss. */
    @Test
    void shouldDifferentiateTinyTransformerBlockEndToEnd() {
        check((g, in) -> {
            Tensor tokens = ints(g, in, "tokens", new int[] {1, 4, 2, 0, 3, 3}, 2, 3);
            Tensor targets = ints(g, in, "targets", new int[] {4, 2, -1, 3, 3, 1}, 2, 3);
            Tensor h = g.embedding("embed", tokens, 5, 4);
            h = g.add(h, g.attention("attn", g.layerNorm("ln1", h), 2, true));
            Tensor logits = g.linear("head", g.layerNorm("ln2", h), 5);
            return g.crossEntropy(logits, targets);
        });
    }
}
