package dev.tessera.bench;

import dev.tessera.api.ModelGraph;
import dev.tessera.autodiff.Autodiff;
import dev.tessera.autodiff.TrainingOptions;
import dev.tessera.examples.mlp.MlpModel;
import dev.tessera.graph.DType;
import dev.tessera.graph.GraphBuilder;
import dev.tessera.graph.Shape;
import dev.tessera.optim.Optimizer;
import dev.tessera.tensor.HostTensor;
import dev.tessera.worker.exec.ReferenceExecutor;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * The MLP training step of examples/configs/mlp-fashion.conf (784-256-128-10, ReLU, softmax
 * cross-entropy, Adam(W) lr 1e-3 without weight decay or clipping) in Tessera's reference
 * executor and in DL4J's MultiLayerNetwork.fit, F32, on the same batch from the same weights.
 */
final class MlpBench implements AutoCloseable {
    static final double LEARNING_RATE = 1e-3;
    private static final int[] WIDTHS = {784, 256, 128, 10};
    private static final String[] LAYERS = {"fc1", "fc2", "out"};

    private final int batchSize;
    private final ReferenceExecutor tessera;
    private final MultiLayerNetwork dl4j;
    private final Map<String, HostTensor> batch;
    private final INDArray features;
    private final INDArray labels;

    MlpBench(int batchSize) {
        this.batchSize = batchSize;
        MlpModel model = new MlpModel(List.of(WIDTHS[1], WIDTHS[2]), MlpModel.Activation.RELU, Path.of("unused"), 0, 0);
        GraphBuilder g = new GraphBuilder(DType.F32);
        ModelGraph graph = model.build(g, batchSize);
        tessera = new ReferenceExecutor(Autodiff.build(g.build(), graph.loss(),
                new TrainingOptions(1, new Optimizer.AdamW(0.9, 0.999, 1e-8, 0.0), 0.0)), 1);
        dl4j = dl4jNetwork();
        Map<String, HostTensor> weights = tessera.parameters();
        for (int layer = 0; layer < LAYERS.length; layer++) {
            dl4j.setParam(layer + "_W", Nd4j.createFromArray(weights.get(LAYERS[layer] + ".weight").floats())
                    .reshape('c', WIDTHS[layer], WIDTHS[layer + 1]));
            dl4j.setParam(layer + "_b", Nd4j.createFromArray(weights.get(LAYERS[layer] + ".bias").floats())
                    .reshape(1, WIDTHS[layer + 1]));
        }
        SplittableRandom random = new SplittableRandom(3);
        float[] pixels = new float[batchSize * WIDTHS[0]];
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] = (float) random.nextDouble();
        }
        int[] classes = new int[batchSize];
        INDArray oneHot = Nd4j.zeros(DataType.FLOAT, batchSize, WIDTHS[3]);
        for (int i = 0; i < batchSize; i++) {
            classes[i] = random.nextInt(WIDTHS[3]);
            oneHot.putScalar(i, classes[i], 1f);
        }
        batch = Map.of("x", HostTensor.ofFloats(Shape.of(batchSize, WIDTHS[0]), pixels),
                "labels", HostTensor.ofInts(Shape.of(batchSize), classes));
        features = Nd4j.createFromArray(pixels).reshape('c', batchSize, WIDTHS[0]);
        labels = oneHot;
    }

    private static MultiLayerNetwork dl4jNetwork() {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder()
                .dataType(DataType.FLOAT)
                .seed(1)
                .updater(new Adam(LEARNING_RATE, 0.9, 0.999, 1e-8))
                .list()
                .layer(new DenseLayer.Builder().nIn(WIDTHS[0]).nOut(WIDTHS[1]).activation(Activation.RELU).build())
                .layer(new DenseLayer.Builder().nIn(WIDTHS[1]).nOut(WIDTHS[2]).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT)
                        .nIn(WIDTHS[2]).nOut(WIDTHS[3]).activation(Activation.SOFTMAX).build())
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        return net;
    }

    /** The first losses of both, from the same weights: they must agree before timing means anything. */
    String sanityCheck(int steps) {
        StringBuilder sb = new StringBuilder("MLP losses of the first steps (Tessera / DL4J):");
        for (int i = 0; i < steps; i++) {
            double ours = tesseraStep();
            dl4jStep();
            sb.append(String.format(" %.6f/%.6f", ours, dl4j.score()));
        }
        return sb.toString();
    }

    double tesseraStep() {
        return tessera.step(List.of(batch), LEARNING_RATE).loss();
    }

    void dl4jStep() {
        dl4j.fit(new DataSet(features, labels));
    }

    String describe() {
        return "MLP 784-256-128-10 relu, batch " + batchSize + ", F32, Adam(W) lr 1e-3, no weight decay, no clipping";
    }

    @Override
    public void close() {
        tessera.close();
    }
}
