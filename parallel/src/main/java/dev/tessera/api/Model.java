package dev.tessera.api;

import dev.tessera.graph.GraphBuilder;
import java.util.Map;

/** A trainable model: its forward graph, its training data and how it is evaluated. */
public interface Model {

    /**
     * Adds the forward computation for one micro-batch of {@code batchSize} examples to
     * {@code g}. Graph inputs must be named as the keys of the data source's batches.
     */
    ModelGraph build(GraphBuilder g, int batchSize);

    /** Training batches; batch {@code k} must be a pure function of the seed and k (resume relies on it). */
    DataSource trainData(long seed, int batchSize);

    /**
     * Evaluates the current weights through {@code inference} and returns named metrics, e.g.
     * {@code test_accuracy}. Called at the end of training and every {@code train.eval_every} steps.
     */
    Map<String, Double> evaluate(Inference inference);

    /** A one-line description for logs, e.g. {@code gpt(layers=2, d=64, heads=4)}. */
    String describe();
}
