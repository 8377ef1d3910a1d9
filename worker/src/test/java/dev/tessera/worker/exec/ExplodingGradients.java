package dev.tessera.worker.exec;

import dev.tessera.autodiff.Autodiff;
import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.autodiff.TrainingOptions;
import dev.tessera.graph.DType;
import dev.tessera.graph.GraphBuilder;
import dev.tessera.graph.Shape;
import dev.tessera.graph.Tensor;
import dev.tessera.optim.Optimizer;
import dev.tessera.tensor.HostTensor;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * An F32 model and values whose loss is finite while a gradient is not: x -> fc1 -> relu -> head
 * -> cross-entropy, with fc1 weights of 1e-22, head weights of +-1e22 and inputs of 1e22. The
 * forward multiplies x by fc1 (activations of 5) and then by head (logits of 3.5e23, a finite
 * loss); the fc1 weight gradient multiplies x by the head weights instead (1e22 * 3e21), which
 * overflows F32. The first op whose output is not finite is fc1's weight-gradient matmul.
 */
public final class ExplodingGradients {
    public static final int ROWS = 6;
    public static final int FEATURES = 5;
    public static final int HIDDEN = 7;
    public static final int CLASSES = 4;
    /** fc1's weight gradient: the first tensor that overflows. */
    public static final String GRADIENT = "fc1.weight.grad";

    private ExplodingGradients() {
    }

    public static TrainingGraph mlp(int microBatches, Optimizer optimizer, double clipNorm) {
        return mlp(new TrainingOptions(microBatches, optimizer, clipNorm));
    }

    /** The same with any training options. */
    public static TrainingGraph mlp(TrainingOptions options) {
        GraphBuilder g = new GraphBuilder(DType.F32);
        Tensor x = g.input("x", DType.F32, ROWS, FEATURES);
        Tensor labels = g.input("labels", DType.I32, ROWS);
        Tensor hidden = g.relu(g.linear("fc1", x, HIDDEN));
        Tensor loss = g.crossEntropy(g.linear("head", hidden, CLASSES), labels);
        return Autodiff.build(g.build(), loss, options);
    }

    /** Ordinary data: inputs in [-1, 1), random labels. */
    public static Map<String, HostTensor> batch(long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        float[] x = new float[ROWS * FEATURES];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (2 * random.nextDouble() - 1);
        }
        int[] labels = new int[ROWS];
        for (int i = 0; i < ROWS; i++) {
            labels[i] = random.nextInt(CLASSES);
        }
        return Map.of("x", HostTensor.ofFloats(Shape.of(ROWS, FEATURES), x),
                "labels", HostTensor.ofInts(Shape.of(ROWS), labels));
    }

    /**
     * Weights under which inputs of 1e22 give a finite loss and an infinite fc1 weight gradient:
     * fc1 weights {@code fc1Weight}, head weights +{@code headWeight} towards class 0 and
     * -{@code headWeight} towards the others, zero biases.
     */
    public static Map<String, HostTensor> weights(double fc1Weight, double headWeight) {
        float[] head = new float[HIDDEN * CLASSES];
        for (int i = 0; i < head.length; i++) {
            head[i] = (float) (i % CLASSES == 0 ? headWeight : -headWeight);
        }
        Map<String, HostTensor> out = new LinkedHashMap<>();
        out.put("fc1.weight", filled(Shape.of(FEATURES, HIDDEN), fc1Weight));
        out.put("fc1.bias", filled(Shape.of(HIDDEN), 0));
        out.put("head.weight", HostTensor.ofFloats(Shape.of(HIDDEN, CLASSES), head));
        out.put("head.bias", filled(Shape.of(CLASSES), 0));
        return out;
    }

    /** The weights of the class comment. */
    public static Map<String, HostTensor> explodingWeights() {
        return weights(1e-22, 1e22);
    }

    /**
     * Inputs of {@code value} in the rows from {@code firstRow} on and of 1 before, every label 1
     * (so the head's gradient pulls from class 0 to class 1 in every row).
     */
    public static Map<String, HostTensor> batch(double value, int firstRow) {
        float[] x = new float[ROWS * FEATURES];
        Arrays.fill(x, 1f);
        Arrays.fill(x, firstRow * FEATURES, x.length, (float) value);
        int[] labels = new int[ROWS];
        Arrays.fill(labels, 1);
        return Map.of("x", HostTensor.ofFloats(Shape.of(ROWS, FEATURES), x),
                "labels", HostTensor.ofInts(Shape.of(ROWS), labels));
    }

    /** Every row's inputs are 1e22. */
    public static Map<String, HostTensor> explodingBatch() {
        return batch(1e22, 0);
    }

    private static HostTensor filled(Shape shape, double value) {
        float[] values = new float[(int) shape.size()];
        Arrays.fill(values, (float) value);
        return HostTensor.ofFloats(shape, values);
    }
}
