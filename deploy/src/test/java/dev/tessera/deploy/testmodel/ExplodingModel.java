package dev.tessera.deploy.testmodel;

import com.typesafe.config.Config;
import dev.tessera.api.DataSource;
import dev.tessera.api.Inference;
import dev.tessera.api.Model;
import dev.tessera.api.ModelGraph;
import dev.tessera.api.ModelProvider;
import dev.tessera.graph.DType;
import dev.tessera.graph.GraphBuilder;
import dev.tessera.graph.Initializer;
import dev.tessera.graph.Shape;
import dev.tessera.graph.Tensor;
import dev.tessera.tensor.HostTensor;
import java.util.Arrays;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A test-only model whose loss stays finite while a gradient overflows F32 from batch
 * {@code model.explode_at} on: x -> fc1 (weights 1e-22) -> relu -> head (weights of about 1e22)
 * -> cross-entropy. Before that batch every input is 0, so every gradient is 0 or finite and the
 * weights stay; from it on every input is 1e22: activations of about 1, logits of about 1e23 (a
 * finite loss), but fc1's weight gradient multiplies 1e22 inputs by 1e22 head weights. Registered
 * as {@code exploding} in this module's test META-INF/services.
 */
public final class ExplodingModel implements Model {
    private static final int FEATURES = 4;
    private static final int HIDDEN = 8;
    private static final int CLASSES = 4;
    private final long explodeAt;

    /** The provider the tests' ServiceLoader finds. */
    public static final class Provider implements ModelProvider {
        @Override
        public String name() {
            return "exploding";
        }

        @Override
        public String referenceConfig() {
            return "model { explode_at = 0 }";
        }

        @Override
        public Model create(Config config) {
            return new ExplodingModel(config.getLong("model.explode_at"));
        }
    }

    ExplodingModel(long explodeAt) {
        this.explodeAt = explodeAt;
    }

    @Override
    public ModelGraph build(GraphBuilder g, int batchSize) {
        Tensor x = g.input("x", DType.F32, batchSize, FEATURES);
        Tensor labels = g.input("labels", DType.I32, batchSize);
        Tensor hidden;
        try (GraphBuilder.Scope s = g.scope("fc1")) {
            hidden = g.relu(g.matmul(x, g.parameter("weight", Initializer.constant(1e-22), FEATURES, HIDDEN)));
        }
        Tensor logits;
        try (GraphBuilder.Scope s = g.scope("head")) {
            logits = g.matmul(hidden, g.parameter("weight", Initializer.normal(1e22), HIDDEN, CLASSES));
        }
        return new ModelGraph(g.crossEntropy(logits, labels), logits);
    }

    @Override
    public DataSource trainData(long seed, int batchSize) {
        return index -> {
            float[] x = new float[batchSize * FEATURES];
            Arrays.fill(x, index < explodeAt ? 0f : 1e22f);
            SplittableRandom random = new SplittableRandom(seed * 1_000_003L + index);
            int[] labels = new int[batchSize];
            for (int i = 0; i < batchSize; i++) {
                labels[i] = random.nextInt(CLASSES);
            }
            return Map.of("x", HostTensor.ofFloats(Shape.of(batchSize, FEATURES), x),
                    "labels", HostTensor.ofInts(Shape.of(batchSize), labels));
        };
    }

    @Override
    public Map<String, Double> evaluate(Inference inference) {
        return Map.of();
    }

    @Override
    public String describe() {
        return "exploding(explode_at=" + explodeAt + ")";
    }
}
