package dev.tessera.bench;

import dev.tessera.api.DataSource;
import dev.tessera.api.ModelGraph;
import dev.tessera.autodiff.Autodiff;
import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.autodiff.TrainingOptions;
import dev.tessera.examples.data.FashionMnist;
import dev.tessera.examples.gpt.AdditionTask;
import dev.tessera.examples.gpt.GptModel;
import dev.tessera.examples.gpt.GptTask;
import dev.tessera.examples.gpt.TextTask;
import dev.tessera.examples.mlp.FashionMnistSource;
import dev.tessera.examples.mlp.MlpModel;
import dev.tessera.graph.DType;
import dev.tessera.graph.GraphBuilder;
import dev.tessera.graph.Shape;
import dev.tessera.optim.Optimizer;
import dev.tessera.tensor.HostTensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * One model of the PyTorch comparison: its training graph, its data source (the example's own,
 * as the trainer reads it) and what bench/pytorch/torch_steps.py needs to build and train the
 * same model ({@link #export}). AdamW's betas and epsilon are the config defaults (0.9, 0.999, 1e-8).
 *
 * @param manifest the model's lines of manifest.txt besides parameters and inputs
 */
record PyTorchWorkload(String name, String description, TrainingGraph graph, DataSource data, int batchSize,
                       double learningRate, Map<String, String> manifest) {
    private static final double BETA1 = 0.9;
    private static final double BETA2 = 0.999;
    private static final double EPSILON = 1e-8;
    /** Fashion-MNIST's shape with random pixels: the data source's work is the same, no download needed. */
    private static final int SYNTHETIC_IMAGES = 10_000;

    /** examples/configs/mlp-fashion.conf: 784-256-128-10 ReLU, Adam lr 1e-3, no weight decay or clipping. */
    /**
     * The comparison's model called {@code model} at its benchmark batch size: mlp (128), gpt-addition (64) or
     * gpt-text (16, trained on {@code textFile}).
     */
    static PyTorchWorkload named(String model, Path textFile) {
        return switch (model) {
            case "mlp" -> mlp(128);
            case "gpt-addition" -> gptAddition(64);
            case "gpt-text" -> gptText(textFile, 16);
            default -> throw new IllegalArgumentException("unknown model '" + model
                    + "'; choose from mlp, gpt-addition, gpt-text");
        };
    }

    static PyTorchWorkload mlp(int batchSize) {
        MlpModel model = new MlpModel(List.of(256, 128), MlpModel.Activation.RELU, Path.of("unused"), 0, 0);
        SplittableRandom random = new SplittableRandom(3);
        byte[] pixels = new byte[SYNTHETIC_IMAGES * FashionMnist.PIXELS];
        byte[] labels = new byte[SYNTHETIC_IMAGES];
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] = (byte) random.nextInt(256);
        }
        for (int i = 0; i < labels.length; i++) {
            labels[i] = (byte) random.nextInt(FashionMnist.CLASSES);
        }
        FashionMnist.Split split = new FashionMnist.Split("synthetic", pixels, labels, SYNTHETIC_IMAGES);
        GraphBuilder g = new GraphBuilder(DType.F32);
        ModelGraph graph = model.build(g, batchSize);
        TrainingGraph training = training(g, graph, 0.0, 0.0);
        Map<String, String> manifest = new LinkedHashMap<>();
        manifest.put("model", "mlp");
        manifest.put("widths", FashionMnist.PIXELS + " 256 128 " + FashionMnist.CLASSES);
        return new PyTorchWorkload("mlp", "MLP 784-256-128-10 ReLU, batch " + batchSize
                + ", Adam lr 1e-3, no clipping (mlp-fashion.conf, random pixels)", training,
                new FashionMnistSource(split, 1, batchSize), batchSize, 1e-3,
                withOptimizer(manifest, 1e-3, 0.0, 0.0));
    }

    /** examples/configs/gpt-addition.conf: 2 layers, d_model 64, 4 heads, T 12, AdamW lr 3e-3 wd 0.01, clip 1. */
    static PyTorchWorkload gptAddition(int batchSize) {
        return gpt("gpt-addition", new AdditionTask(3, 0, 1000), 2, 64, 4, batchSize, 3e-3,
                "(gpt-addition.conf)");
    }

    /** A larger GPT on the text task of gpt-text.conf: 4 layers, d_model 256, 8 heads, T 128. */
    static PyTorchWorkload gptText(Path textFile, int batchSize) {
        return gpt("gpt-text", new TextTask(textFile, 128), 4, 256, 8, batchSize, 2e-3,
                "(gpt-text.conf's task on " + textFile + ")");
    }

    private static PyTorchWorkload gpt(String name, GptTask task, int layers, int width, int heads, int batchSize,
                                       double learningRate, String origin) {
        GptModel model = new GptModel(task, layers, width, heads, 0.0);
        GraphBuilder g = new GraphBuilder(DType.F32);
        ModelGraph graph = model.build(g, batchSize);
        TrainingGraph training = training(g, graph, 0.01, 1.0);
        Map<String, String> manifest = new LinkedHashMap<>();
        manifest.put("model", "gpt");
        manifest.put("vocabulary", Integer.toString(task.vocabularySize()));
        manifest.put("sequence", Integer.toString(task.sequenceLength()));
        manifest.put("width", Integer.toString(width));
        manifest.put("layers", Integer.toString(layers));
        manifest.put("heads", Integer.toString(heads));
        String description = String.format("GPT %d layers, d_model %d, %d heads, T %d, vocabulary %d, batch %d, "
                + "AdamW lr %.0e weight decay 0.01, clip 1 %s", layers, width, heads, task.sequenceLength(),
                task.vocabularySize(), batchSize, learningRate, origin);
        return new PyTorchWorkload(name, description, training, task.trainData(1, batchSize), batchSize, learningRate,
                withOptimizer(manifest, learningRate, 0.01, 1.0));
    }

    private static TrainingGraph training(GraphBuilder g, ModelGraph graph, double weightDecay, double clipNorm) {
        return Autodiff.build(g.build(), graph.loss(), new TrainingOptions(1,
                new Optimizer.AdamW(BETA1, BETA2, EPSILON, weightDecay), clipNorm));
    }

    private static Map<String, String> withOptimizer(Map<String, String> manifest, double learningRate,
                                                     double weightDecay, double clipNorm) {
        manifest.put("lr", Double.toString(learningRate));
        manifest.put("beta1", Double.toString(BETA1));
        manifest.put("beta2", Double.toString(BETA2));
        manifest.put("epsilon", Double.toString(EPSILON));
        manifest.put("weight_decay", Double.toString(weightDecay));
        manifest.put("clip_norm", Double.toString(clipNorm));
        return manifest;
    }

    /**
     * Writes {@code folder}/manifest.txt, every parameter as parameter.NAME.bin and the first
     * {@code batches} batches of the data source as batch.K.INPUT.bin (little-endian f32 or i32,
     * Tessera's layouts), for torch_steps.py.
     */
    void export(Path folder, Map<String, HostTensor> parameters, int batches) {
        try {
            Files.createDirectories(folder);
            List<String> lines = new ArrayList<>();
            manifest.forEach((key, value) -> lines.add(key + " " + value));
            lines.add("batches " + batches);
            for (Map.Entry<String, HostTensor> p : parameters.entrySet()) {
                lines.add("parameter " + p.getKey() + " " + dims(p.getValue().shape()));
                write(folder.resolve("parameter." + p.getKey() + ".bin"), p.getValue());
            }
            for (int b = 0; b < batches; b++) {
                Map<String, HostTensor> batch = data.batch(b);
                for (Map.Entry<String, HostTensor> input : batch.entrySet()) {
                    if (b == 0) {
                        lines.add("input " + input.getKey() + " " + (input.getValue().dtype() == DType.I32 ? "i32" : "f32")
                                + " " + dims(input.getValue().shape()));
                    }
                    write(folder.resolve("batch." + b + "." + input.getKey() + ".bin"), input.getValue());
                }
            }
            Files.write(folder.resolve("manifest.txt"), lines);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the PyTorch export of " + name + " to " + folder, e);
        }
    }

    private static String dims(Shape shape) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < shape.rank(); i++) {
            sb.append(i == 0 ? "" : " ").append(shape.dim(i));
        }
        return sb.toString();
    }

    private static void write(Path file, HostTensor tensor) throws IOException {
        ByteBuffer bytes = ByteBuffer.allocate(tensor.size() * 4).order(ByteOrder.LITTLE_ENDIAN);
        if (tensor.dtype() == DType.I32) {
            bytes.asIntBuffer().put(tensor.ints());
        } else {
            bytes.asFloatBuffer().put(tensor.convert(DType.F32).floats());
        }
        Files.write(file, bytes.array());
    }
}
