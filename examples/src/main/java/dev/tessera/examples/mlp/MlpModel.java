package dev.tessera.examples.mlp;

import dev.tessera.api.DataSource;
import dev.tessera.api.Inference;
import dev.tessera.api.Model;
import dev.tessera.api.ModelGraph;
import dev.tessera.examples.data.FashionMnist;
import dev.tessera.examples.eval.Logits;
import dev.tessera.graph.DType;
import dev.tessera.graph.GraphBuilder;
import dev.tessera.graph.Tensor;
import dev.tessera.tensor.HostTensor;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * A multi-layer perceptron classifying Fashion-MNIST: 784 pixels, hidden layers of linear +
 * activation, a final linear layer to 10 classes, softmax cross-entropy.
 */
public final class MlpModel implements Model {
    private static final int EVAL_BATCH = 1000;

    /** The hidden-layer nonlinearity. */
    public enum Activation {
        RELU, GELU, TANH;

        Tensor apply(GraphBuilder g, Tensor x) {
            return switch (this) {
                case RELU -> g.relu(x);
                case GELU -> g.gelu(x);
                case TANH -> g.tanh(x);
            };
        }
    }

    private final List<Integer> hidden;
    private final Activation activation;
    private final Path dataPath;
    private final int trainLimit;
    private final int testLimit;
    private FashionMnist.Split train;
    private FashionMnist.Split test;

    public MlpModel(List<Integer> hidden, Activation activation, Path dataPath, int trainLimit, int testLimit) {
        for (int width : hidden) {
            if (width <= 0) {
                throw new IllegalArgumentException("model.hidden widths must be positive, got " + hidden);
            }
        }
        if (trainLimit < 0 || testLimit < 0) {
            throw new IllegalArgumentException("data.train_limit and data.test_limit must be >= 0 (0 = all), got "
                    + trainLimit + " and " + testLimit);
        }
        this.hidden = List.copyOf(hidden);
        this.activation = activation;
        this.dataPath = dataPath;
        this.trainLimit = trainLimit;
        this.testLimit = testLimit;
    }

    @Override
    public ModelGraph build(GraphBuilder g, int batchSize) {
        Tensor x = g.input("x", g.floatType(), batchSize, FashionMnist.PIXELS);
        Tensor labels = g.input("labels", DType.I32, batchSize);
        Tensor h = x;
        for (int i = 0; i < hidden.size(); i++) {
            h = activation.apply(g, g.linear("fc" + (i + 1), h, hidden.get(i)));
        }
        Tensor logits = g.linear("out", h, FashionMnist.CLASSES);
        return new ModelGraph(g.crossEntropy(logits, labels), logits);
    }

    @Override
    public synchronized DataSource trainData(long seed, int batchSize) {
        if (train == null) {
            train = FashionMnist.train(dataPath, trainLimit);
        }
        return new FashionMnistSource(train, seed, batchSize);
    }

    /** Accuracy and mean loss over the test set (10,000 images unless data.test_limit is set). */
    @Override
    public Map<String, Double> evaluate(Inference inference) {
        FashionMnist.Split split = testSplit();
        long correct = 0;
        double lossSum = 0;
        for (int from = 0; from < split.count(); from += EVAL_BATCH) {
            int n = Math.min(EVAL_BATCH, split.count() - from);
            int[] rows = new int[n];
            for (int j = 0; j < n; j++) {
                rows[j] = from + j;
            }
            Map<String, HostTensor> batch = FashionMnistSource.examples(split, rows);
            Logits logits = new Logits(inference.logits(Map.of("x", batch.get("x"))));
            int[] labels = batch.get("labels").ints();
            for (int j = 0; j < n; j++) {
                correct += logits.argmax(j) == labels[j] ? 1 : 0;
                lossSum += logits.crossEntropy(j, labels[j]);
            }
        }
        Map<String, Double> metrics = new LinkedHashMap<>();
        metrics.put("test_accuracy", correct / (double) split.count());
        metrics.put("test_loss", lossSum / split.count());
        return metrics;
    }

    private synchronized FashionMnist.Split testSplit() {
        if (test == null) {
            test = FashionMnist.test(dataPath, testLimit);
        }
        return test;
    }

    @Override
    public String describe() {
        String widths = hidden.stream().map(String::valueOf).collect(Collectors.joining("-"));
        return "mlp(" + FashionMnist.PIXELS + "-" + (widths.isEmpty() ? "" : widths + "-") + FashionMnist.CLASSES
                + ", " + activation.name().toLowerCase() + ")";
    }
}
