package dev.tessera.worker.exec;

import static dev.tessera.worker.GradientCheck.check;

import dev.tessera.graph.DType;
import dev.tessera.graph.GraphBuilder;
import dev.tessera.graph.Initializer;
import dev.tessera.graph.Shape;
import dev.tessera.graph.Tensor;
import dev.tessera.tensor.HostTensor;
import dev.tessera.worker.GradientCheck;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Finite-difference checks of whole blocks as the examples compose them, every parameter included. */
class ComposedBlockGradientTest {
    private static Tensor labels(GraphBuilder g, Map<String, HostTensor> in, String name, int[] values, int... dims) {
        in.put(name, HostTensor.ofInts(Shape.of(dims), values));
        return g.input(name, DType.I32, dims);
    }

    @Test
    void shouldDifferentiateMlpWithEveryActivationAndCrossEntropy() {
        check((g, in) -> {
            in.put("x", GradientCheck.random(Shape.of(4, 6), 11));
            Tensor x = g.input("x", DType.F64, 4, 6);
            Tensor y = labels(g, in, "y", new int[] {0, 2, 1, 2}, 4);
            Tensor h = g.relu(g.linear("fc1", x, 5));
            h = g.tanh(g.linear("fc2", h, 5));
            h = g.gelu(g.linear("fc3", h, 4));
            return g.crossEntropy(g.linear("out", h, 3), y);
        });
    }

    /**
     * Two pre-norm GPT blocks as the GPT example builds them: token embedding plus a learned
     * position table, causal attention and a GELU MLP with residuals, final norm, vocabulary head,
     * cross-entropy that ignores some targets.
     */
    @Test
    void shouldDifferentiateTwoLayerGptStack() {
        int batch = 2;
        int time = 3;
        int width = 4;
        int vocabulary = 5;
        check((g, in) -> {
            Tensor tokens = labels(g, in, "tokens", new int[] {1, 4, 2, 0, 3, 3}, batch, time);
            Tensor targets = labels(g, in, "targets", new int[] {4, 2, -1, 3, -1, 1}, batch, time);
            Tensor position = g.parameter("position", Initializer.normal(0.5), time * width);
            Tensor h = g.embedding("embed", tokens, vocabulary, width);
            h = g.reshape(g.biasAdd(g.reshape(h, batch, time * width), position), batch, time, width);
            for (int layer = 0; layer < 2; layer++) {
                try (GraphBuilder.Scope s = g.scope("block" + layer)) {
                    h = g.add(h, g.attention("attn", g.layerNorm("ln1", h), 2, true));
                    Tensor mlp = g.gelu(g.linear("fc", g.layerNorm("ln2", h), 4 * width));
                    h = g.add(h, g.linear("proj", mlp, width));
                }
            }
            Tensor logits = g.linear("head", g.layerNorm("ln_final", h), vocabulary);
            return g.crossEntropy(logits, targets);
        });
    }
}
