package dev.tessera.autodiff;

import dev.tessera.graph.DType;
import dev.tessera.graph.GraphBuilder;
import dev.tessera.graph.Initializer;
import dev.tessera.graph.Tensor;
import dev.tessera.optim.Optimizer;

/**
 * The example models' architectures in miniature, as training graphs, for the tests of every
 * module that lays out, compiles or runs them (through this module's test jar: worker and
 * scheduler cannot reach the examples module).
 */
public final class MiniatureModels {
    public static final int FEATURES = 5;
    public static final int HIDDEN = 7;
    public static final int CLASSES = 4;
    public static final int TIME = 6;
    public static final int WIDTH = 8;
    public static final int VOCABULARY = 11;

    private MiniatureModels() {
    }

    /** x [rows, 5] -> fc1 -> tanh -> fc2 -> relu -> head -> cross-entropy over 4 classes, F64; parameters fc1., fc2., head. */
    public static TrainingGraph mlp(int rows, int microBatches, Optimizer optimizer, double clipNorm) {
        return mlp(rows, new TrainingOptions(microBatches, optimizer, clipNorm));
    }

    /** The same with any training options. */
    public static TrainingGraph mlp(int rows, TrainingOptions options) {
        GraphBuilder g = new GraphBuilder(DType.F64);
        Tensor x = g.input("x", DType.F64, rows, FEATURES);
        Tensor labels = g.input("labels", DType.I32, rows);
        Tensor h = g.tanh(g.linear("fc1", x, HIDDEN));
        h = g.relu(g.linear("fc2", h, HIDDEN));
        Tensor loss = g.crossEntropy(g.linear("head", h, CLASSES), labels);
        return Autodiff.build(g.build(), loss, options);
    }

    /**
     * The GPT example's architecture, F32, {@code batch} sequences of 6 tokens from 11: token and
     * position embeddings, two pre-LayerNorm blocks (block0., block1.) of causal attention (2 heads)
     * and a GELU MLP with dropout 0.1, final LayerNorm, head, cross-entropy with ignored targets.
     */
    public static TrainingGraph gpt(int batch, int microBatches, Optimizer optimizer, double clipNorm) {
        return gpt(batch, new TrainingOptions(microBatches, optimizer, clipNorm));
    }

    /** The same with any training options. */
    public static TrainingGraph gpt(int batch, TrainingOptions options) {
        GraphBuilder g = new GraphBuilder(DType.F32);
        Tensor tokens = g.input("tokens", DType.I32, batch, TIME);
        Tensor targets = g.input("targets", DType.I32, batch, TIME);
        Tensor x = g.embedding("token_embedding", tokens, VOCABULARY, WIDTH);
        Tensor positions;
        try (GraphBuilder.Scope s = g.scope("position_embedding")) {
            positions = g.parameter("weight", Initializer.normal(0.02), TIME, WIDTH);
        }
        x = g.reshape(g.biasAdd(g.reshape(x, batch, TIME * WIDTH), g.reshape(positions, TIME * WIDTH)),
                batch, TIME, WIDTH);
        for (int i = 0; i < 2; i++) {
            try (GraphBuilder.Scope block = g.scope("block" + i)) {
                x = g.add(x, g.attention("attention", g.layerNorm("ln1", x), 2, true));
                Tensor hidden = g.gelu(g.linear("fc", g.layerNorm("ln2", x), 4 * WIDTH));
                x = g.add(x, g.dropout(g.linear("proj", hidden, WIDTH), 0.1, 17 + i));
            }
        }
        Tensor logits = g.linear("head", g.layerNorm("ln_final", x), VOCABULARY);
        Tensor loss = g.crossEntropy(logits, targets);
        return Autodiff.build(g.build(), loss, options);
    }
}
