package dev.tessera.worker.crosscheck;

import static dev.tessera.worker.crosscheck.Agreement.array;
import static dev.tessera.worker.crosscheck.Agreement.assertGradientsAgree;
import static dev.tessera.worker.crosscheck.Agreement.assertLossAgrees;
import static dev.tessera.worker.crosscheck.Agreement.nd4jType;
import static dev.tessera.worker.crosscheck.Agreement.rowMajor;

import dev.tessera.autodiff.Autodiff;
import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.autodiff.TrainingOptions;
import dev.tessera.graph.DType;
import dev.tessera.graph.GraphBuilder;
import dev.tessera.graph.Shape;
import dev.tessera.graph.Tensor;
import dev.tessera.optim.Optimizer;
import dev.tessera.tensor.HostTensor;
import dev.tessera.worker.exec.ReferenceExecutor;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * The MLP 784-64-32-10 (relu, tanh, softmax cross-entropy) in Tessera and in DL4J's
 * MultiLayerNetwork, from the same weights on the same batch: the loss and the gradient of
 * every parameter must agree.
 *
 * <p>DL4J's MCXENT score is the mean over the minibatch of {@code -sum(y log p)} (no
 * regularization is configured), which is what Tessera's crossEntropy computes. The gradient
 * that {@code computeGradientAndScore()} leaves is, however, that of the <em>sum</em> over the
 * minibatch: DL4J divides by the minibatch size later, in its updater (the configuration's
 * {@code miniBatch(true)} default). So the DL4J gradients are divided by the batch size here;
 * the test fails by exactly that factor without it.
 */
class MlpCrossCheckTest {
    private static final int BATCH = 16;
    private static final int[] WIDTHS = {784, 64, 32, 10};
    private static final String[] LAYERS = {"fc1", "fc2", "out"};

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64"})
    void shouldMatchDl4jLossAndEveryParameterGradient(DType dtype) {
        Map<String, HostTensor> batch = batch(dtype);
        TrainingGraph graph = tesseraMlp(dtype);
        try (ReferenceExecutor exec = new ReferenceExecutor(graph, 2024)) {
            Map<String, HostTensor> weights = exec.parameters();
            double tesseraLoss = exec.loss(List.of(batch));
            Map<String, HostTensor> tesseraGradients = exec.gradients(List.of(batch));

            MultiLayerNetwork net = dl4jMlp(dtype);
            for (int layer = 0; layer < LAYERS.length; layer++) {
                net.setParam(layer + "_W", array(weights.get(LAYERS[layer] + ".weight"), dtype,
                        WIDTHS[layer], WIDTHS[layer + 1]));
                net.setParam(layer + "_b", array(weights.get(LAYERS[layer] + ".bias"), dtype, 1, WIDTHS[layer + 1]));
            }
            net.setInput(array(batch.get("x"), dtype, BATCH, WIDTHS[0]));
            net.setLabels(oneHot(batch.get("labels").ints(), WIDTHS[3], dtype));
            net.computeGradientAndScore();
            Gradient gradient = net.gradient();
            Map<String, double[]> dl4jGradients = new LinkedHashMap<>();
            for (int layer = 0; layer < LAYERS.length; layer++) {
                dl4jGradients.put(LAYERS[layer] + ".weight", perExample(gradient.getGradientFor(layer + "_W")));
                dl4jGradients.put(LAYERS[layer] + ".bias", perExample(gradient.getGradientFor(layer + "_b")));
            }

            assertLossAgrees(tesseraLoss, net.score(), dtype);
            assertGradientsAgree(tesseraGradients, dl4jGradients, dtype);
        }
    }

    /** DL4J's summed-over-the-minibatch gradient as the gradient of the mean loss. */
    private static double[] perExample(INDArray summed) {
        double[] values = rowMajor(summed);
        for (int i = 0; i < values.length; i++) {
            values[i] /= BATCH;
        }
        return values;
    }

    private static TrainingGraph tesseraMlp(DType dtype) {
        GraphBuilder g = new GraphBuilder(dtype);
        Tensor x = g.input("x", dtype, BATCH, WIDTHS[0]);
        Tensor labels = g.input("labels", DType.I32, BATCH);
        Tensor h1 = g.relu(g.linear(LAYERS[0], x, WIDTHS[1]));
        Tensor h2 = g.tanh(g.linear(LAYERS[1], h1, WIDTHS[2]));
        Tensor loss = g.crossEntropy(g.linear(LAYERS[2], h2, WIDTHS[3]), labels);
        return Autodiff.build(g.build(), loss, new TrainingOptions(1, new Optimizer.Sgd(0, 0), 0));
    }

    private static MultiLayerNetwork dl4jMlp(DType dtype) {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder()
                .dataType(nd4jType(dtype))
                .seed(1)
                .updater(new NoOp())
                .list()
                .layer(new DenseLayer.Builder().nIn(WIDTHS[0]).nOut(WIDTHS[1]).activation(Activation.RELU).build())
                .layer(new DenseLayer.Builder().nIn(WIDTHS[1]).nOut(WIDTHS[2]).activation(Activation.TANH).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT)
                        .nIn(WIDTHS[2]).nOut(WIDTHS[3]).activation(Activation.SOFTMAX).build())
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        return net;
    }

    /** Pixel-like features in [0, 1) and labels covering every class. */
    private static Map<String, HostTensor> batch(DType dtype) {
        SplittableRandom random = new SplittableRandom(11);
        double[] x = new double[BATCH * WIDTHS[0]];
        for (int i = 0; i < x.length; i++) {
            x[i] = random.nextDouble();
        }
        int[] labels = new int[BATCH];
        for (int i = 0; i < BATCH; i++) {
            labels[i] = i < WIDTHS[3] ? i : random.nextInt(WIDTHS[3]);
        }
        return Map.of("x", HostTensor.ofDoubles(Shape.of(BATCH, WIDTHS[0]), x).convert(dtype),
                "labels", HostTensor.ofInts(Shape.of(BATCH), labels));
    }

    private static INDArray oneHot(int[] labels, int classes, DType dtype) {
        INDArray y = Nd4j.zeros(nd4jType(dtype), labels.length, classes);
        for (int i = 0; i < labels.length; i++) {
            y.putScalar(i, labels[i], 1.0);
        }
        return y;
    }
}
