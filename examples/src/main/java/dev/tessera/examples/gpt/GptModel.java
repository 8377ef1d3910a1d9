package dev.tessera.examples.gpt;

import dev.tessera.api.DataSource;
import dev.tessera.api.Inference;
import dev.tessera.api.Model;
import dev.tessera.api.ModelGraph;
import dev.tessera.graph.DType;
import dev.tessera.graph.GraphBuilder;
import dev.tessera.graph.Initializer;
import dev.tessera.graph.Tensor;
import java.util.Map;

/**
 * A GPT-style decoder-only transformer over the tokens of a {@link GptTask}: token embedding
 * plus a learned position embedding, {@code layers} pre-LayerNorm blocks (causal multi-head
 * attention, then a 4x-wide GELU MLP, each added back to the residual stream), a final
 * LayerNorm and a linear head to the vocabulary. Loss: mean cross-entropy over the targets that
 * are not -1.
 */
public final class GptModel implements Model {
    /** Distinct per dropout op so that their masks are independent. */
    private static final long DROPOUT_SEED = 0xd409L;

    private final GptTask task;
    private final int layers;
    private final int modelWidth;
    private final int heads;
    private final double dropout;

    public GptModel(GptTask task, int layers, int modelWidth, int heads, double dropout) {
        if (layers < 1) {
            throw new IllegalArgumentException("model.layers must be >= 1, got " + layers);
        }
        if (modelWidth < 1 || heads < 1 || modelWidth % heads != 0) {
            throw new IllegalArgumentException("model.d_model (" + modelWidth + ") must be a positive multiple of model.heads ("
                    + heads + ")");
        }
        if (dropout < 0 || dropout >= 1) {
            throw new IllegalArgumentException("model.dropout must be in [0, 1), got " + dropout);
        }
        this.task = task;
        this.layers = layers;
        this.modelWidth = modelWidth;
        this.heads = heads;
        this.dropout = dropout;
    }

    public GptTask task() {
        return task;
    }

    @Override
    public ModelGraph build(GraphBuilder g, int batchSize) {
        int t = task.sequenceLength();
        int d = modelWidth;
        Tensor tokens = g.input("tokens", DType.I32, batchSize, t);
        Tensor targets = g.input("targets", DType.I32, batchSize, t);

        Tensor x = g.embedding("token_embedding", tokens, task.vocabularySize(), d);
        x = addPositionEmbedding(g, x, batchSize, t, d);
        x = maybeDropout(g, x, 0);
        for (int i = 0; i < layers; i++) {
            try (GraphBuilder.Scope block = g.scope("block" + i)) {
                Tensor attended = g.attention("attention", g.layerNorm("ln1", x), heads, true);
                x = g.add(x, maybeDropout(g, attended, 2 * i + 1));
                Tensor hidden = g.gelu(g.linear("fc", g.layerNorm("ln2", x), 4 * d));
                x = g.add(x, maybeDropout(g, g.linear("proj", hidden, d), 2 * i + 2));
            }
        }
        Tensor logits = g.linear("head", g.layerNorm("ln_final", x), task.vocabularySize());
        return new ModelGraph(g.crossEntropy(logits, targets), logits);
    }

    /**
     * Adds a learned [T, d] table to every sequence. Viewing [B, T, d] as [B, T*d] rows turns the
     * broadcast over the batch into a bias add, so no position-id input is needed.
     */
    private static Tensor addPositionEmbedding(GraphBuilder g, Tensor x, int batchSize, int t, int d) {
        Tensor table;
        try (GraphBuilder.Scope s = g.scope("position_embedding")) {
            table = g.parameter("weight", Initializer.normal(0.02), t, d);
        }
        Tensor rows = g.biasAdd(g.reshape(x, batchSize, t * d), g.reshape(table, t * d));
        return g.reshape(rows, batchSize, t, d);
    }

    private Tensor maybeDropout(GraphBuilder g, Tensor x, int index) {
        return dropout > 0 ? g.dropout(x, dropout, DROPOUT_SEED + index) : x;
    }

    @Override
    public DataSource trainData(long seed, int batchSize) {
        return task.trainData(seed, batchSize);
    }

    @Override
    public Map<String, Double> evaluate(Inference inference) {
        return task.evaluate(inference);
    }

    @Override
    public String describe() {
        return "gpt(layers=" + layers + ", d=" + modelWidth + ", heads=" + heads
                + (dropout > 0 ? ", dropout=" + dropout : "") + ") on " + task.describe();
    }
}
