package dev.tessera.bench;

import dev.tessera.api.DataSource;
import dev.tessera.api.ModelGraph;
import dev.tessera.autodiff.Autodiff;
import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.autodiff.TrainingOptions;
import dev.tessera.examples.gpt.AdditionTask;
import dev.tessera.examples.gpt.GptModel;
import dev.tessera.graph.DType;
import dev.tessera.graph.GraphBuilder;
import dev.tessera.optim.Optimizer;
import dev.tessera.tensor.HostTensor;
import dev.tessera.worker.exec.ReferenceExecutor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The GPT training step of examples/configs/gpt-addition.conf (2 layers, d_model 64, 4 heads,
 * 3-digit addition, batch 64, AdamW with weight decay 0.01, clipping at norm 1) in Tessera's
 * reference executor and in {@link HandWrittenGpt}, F32, on the same batches from the same
 * weights. A constant learning rate stands in for the schedule (its cost is one scalar).
 */
final class GptBench implements AutoCloseable {
    static final double LEARNING_RATE = 3e-3;
    private static final int LAYERS = 2;
    private static final int WIDTH = 64;
    private static final int HEADS = 4;
    private static final double BETA1 = 0.9;
    private static final double BETA2 = 0.999;
    private static final double ADAM_EPSILON = 1e-8;
    private static final double WEIGHT_DECAY = 0.01;
    private static final double CLIP_NORM = 1.0;
    private static final int DISTINCT_BATCHES = 8;

    private final int batchSize;
    private final AdditionTask task = new AdditionTask(3, 0, 1000);
    private final ReferenceExecutor tessera;
    private final HandWrittenGpt handWritten;
    private final List<Map<String, HostTensor>> batches = new ArrayList<>();
    private int tesseraNext;
    private int handWrittenNext;

    /** The training graph of the config's GPT for micro-batches of {@code batchSize}, one micro-batch per step. */
    static TrainingGraph trainingGraph(AdditionTask task, int batchSize) {
        GptModel model = new GptModel(task, LAYERS, WIDTH, HEADS, 0.0);
        GraphBuilder g = new GraphBuilder(DType.F32);
        ModelGraph graph = model.build(g, batchSize);
        return Autodiff.build(g.build(), graph.loss(), new TrainingOptions(1,
                new Optimizer.AdamW(BETA1, BETA2, ADAM_EPSILON, WEIGHT_DECAY), CLIP_NORM));
    }

    /** The task's first {@code steps} training batches of {@code batchSize}, one micro-batch per step. */
    static List<List<Map<String, HostTensor>>> steps(AdditionTask task, int batchSize, int steps) {
        DataSource data = task.trainData(1, batchSize);
        List<List<Map<String, HostTensor>>> batches = new ArrayList<>(steps);
        for (int i = 0; i < steps; i++) {
            batches.add(List.of(data.batch(i)));
        }
        return batches;
    }

    /** The constant learning rate for {@code steps} steps. */
    static double[] rates(int steps) {
        double[] rates = new double[steps];
        java.util.Arrays.fill(rates, LEARNING_RATE);
        return rates;
    }

    /** @param profile if not null, Tessera's kernels are timed into it */
    GptBench(int batchSize, KernelProfile profile) {
        this.batchSize = batchSize;
        TrainingGraph training = trainingGraph(task, batchSize);
        tessera = profile == null ? new ReferenceExecutor(training, 1)
                : new ReferenceExecutor(training, 1, profile.registry(training));
        handWritten = new HandWrittenGpt(tessera.parameters(), batchSize, task.sequenceLength(), WIDTH, HEADS, LAYERS,
                task.vocabularySize(), BETA1, BETA2, ADAM_EPSILON, WEIGHT_DECAY, CLIP_NORM);
        DataSource data = task.trainData(1, batchSize);
        for (int i = 0; i < DISTINCT_BATCHES; i++) {
            batches.add(data.batch(i));
        }
    }

    /** The first losses of both on the same batches: they must agree before timing means anything. */
    String sanityCheck(int steps) {
        StringBuilder sb = new StringBuilder("GPT losses of the first steps (Tessera / hand-written):");
        double worst = 0;
        for (int i = 0; i < steps; i++) {
            double ours = tesseraStep();
            double theirs = handWrittenStep();
            worst = Math.max(worst, Math.abs(ours - theirs) / Math.abs(theirs));
            sb.append(String.format(" %.6f/%.6f", ours, theirs));
        }
        return sb.append(String.format("; largest relative difference %.1e", worst)).toString();
    }

    double tesseraStep() {
        Map<String, HostTensor> batch = batches.get(tesseraNext++ % DISTINCT_BATCHES);
        return tessera.step(List.of(batch), LEARNING_RATE).loss();
    }

    double handWrittenStep() {
        Map<String, HostTensor> batch = batches.get(handWrittenNext++ % DISTINCT_BATCHES);
        return handWritten.step(batch.get("tokens").ints(), batch.get("targets").ints(), LEARNING_RATE);
    }

    String describe() {
        return "GPT " + LAYERS + " layers, d_model " + WIDTH + ", " + HEADS + " heads, T " + task.sequenceLength()
                + ", vocabulary " + task.vocabularySize() + ", batch " + batchSize
                + ", F32, AdamW lr 3e-3 weight decay 0.01, clip 1.0";
    }

    @Override
    public void close() {
        tessera.close();
    }
}
