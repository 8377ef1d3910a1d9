package dev.tessera.deploy.testmodel;

import com.typesafe.config.Config;
import dev.tessera.api.DataSource;
import dev.tessera.api.Inference;
import dev.tessera.api.Model;
import dev.tessera.api.ModelGraph;
import dev.tessera.api.ModelProvider;
import dev.tessera.graph.DType;
import dev.tessera.graph.GraphBuilder;
import dev.tessera.graph.Shape;
import dev.tessera.graph.Tensor;
import dev.tessera.tensor.HostTensor;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A test-only model: linear regression onto a fixed random linear map, trained with mean squared
 * error. Small enough to train in milliseconds, and it really learns, so the tests see the loss fall.
 * Registered as {@code tiny-linear} in this module's test META-INF/services.
 */
public final class TinyLinearModel implements Model {
    private final int features;
    private final int outputs;
    private final float[] truth;

    /** The provider the tests' ServiceLoader finds. */
    public static final class Provider implements ModelProvider {
        @Override
        public String name() {
            return "tiny-linear";
        }

        @Override
        public String referenceConfig() {
            return "model { features = 4, outputs = 2 }\ndata { eval_examples = 64 }";
        }

        @Override
        public Model create(Config config) {
            int features = config.getInt("model.features");
            if (features < 1) {
                throw new IllegalArgumentException("model.features must be at least 1, got " + features);
            }
            return new TinyLinearModel(features, config.getInt("model.outputs"));
        }
    }

    TinyLinearModel(int features, int outputs) {
        this.features = features;
        this.outputs = outputs;
        this.truth = randoms(new SplittableRandom(12345), features * outputs);
    }

    /** loss = mean over the batch of |x W + b - y|^2, as a row-times-column product of the error. */
    @Override
    public ModelGraph build(GraphBuilder g, int batchSize) {
        Tensor x = g.input("x", DType.F32, batchSize, features);
        Tensor negatedTarget = g.input("negated_target", DType.F32, batchSize, outputs);
        Tensor scale = g.input("scale", DType.F32, 1, 1);
        Tensor prediction = g.linear("fc", x, outputs);
        Tensor error = g.reshape(g.add(prediction, negatedTarget), 1, batchSize * outputs);
        Tensor squares = g.matmul(error, error, false, true);
        Tensor loss = g.reshape(g.matmul(squares, scale));
        return new ModelGraph(loss, prediction);
    }

    @Override
    public DataSource trainData(long seed, int batchSize) {
        return index -> batch(new SplittableRandom(seed * 1_000_003L + index), batchSize);
    }

    Map<String, HostTensor> batch(SplittableRandom random, int batchSize) {
        float[] x = randoms(random, batchSize * features);
        float[] negated = new float[batchSize * outputs];
        for (int i = 0; i < batchSize; i++) {
            for (int o = 0; o < outputs; o++) {
                float y = 0;
                for (int f = 0; f < features; f++) {
                    y += x[i * features + f] * truth[f * outputs + o];
                }
                negated[i * outputs + o] = -y;
            }
        }
        return Map.of("x", HostTensor.ofFloats(Shape.of(batchSize, features), x),
                "negated_target", HostTensor.ofFloats(Shape.of(batchSize, outputs), negated),
                "scale", HostTensor.ofFloats(Shape.of(1, 1), new float[] {1f / batchSize}));
    }

    /** Mean squared error on a held-out batch. */
    @Override
    public Map<String, Double> evaluate(Inference inference) {
        Map<String, HostTensor> heldOut = batch(new SplittableRandom(-7), 16);
        HostTensor predictions = inference.logits(Map.of("x", heldOut.get("x")));
        float[] negated = heldOut.get("negated_target").floats();
        double sum = 0;
        for (int i = 0; i < negated.length; i++) {
            double e = predictions.getDouble(i) + negated[i];
            sum += e * e;
        }
        return Map.of("test_mse", sum / 16);
    }

    @Override
    public String describe() {
        return "tiny-linear(features=" + features + ", outputs=" + outputs + ")";
    }

    private static float[] randoms(SplittableRandom random, int n) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) (random.nextDouble() * 2 - 1);
        }
        return out;
    }
}
