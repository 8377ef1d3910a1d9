package dev.tessera.worker.actors;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tessera.autodiff.MiniatureModels;
import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.graph.Shape;
import dev.tessera.optim.Optimizer;
import dev.tessera.tensor.HostTensor;
import dev.tessera.tensor.Tolerance;
import dev.tessera.worker.exec.ReferenceExecutor;
import dev.tessera.worker.exec.StepResult;
import dev.tessera.worker.exec.TrainingExecutor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Small training graphs like the examples' (worker tests cannot reach the examples module), their
 * batches, and the comparison of a run with the reference executor's.
 */
final class TrainingModels {
    static final int ROWS = 6;
    static final int FEATURES = MiniatureModels.FEATURES;
    static final int CLASSES = MiniatureModels.CLASSES;
    static final int BATCH = 2;
    static final int TIME = MiniatureModels.TIME;
    static final int VOCABULARY = MiniatureModels.VOCABULARY;

    private TrainingModels() {
    }

    static Optimizer adamW() {
        return new Optimizer.AdamW(0.9, 0.95, 1e-8, 0.1);
    }

    /** {@link MiniatureModels#mlp} with {@link #ROWS} rows per micro-batch. */
    static TrainingGraph mlp(int microBatches, Optimizer optimizer, double clipNorm) {
        return MiniatureModels.mlp(ROWS, microBatches, optimizer, clipNorm);
    }

    static Map<String, HostTensor> mlpBatch(SplittableRandom random) {
        double[] x = new double[ROWS * FEATURES];
        for (int i = 0; i < x.length; i++) {
            x[i] = 2 * random.nextDouble() - 1;
        }
        int[] labels = new int[ROWS];
        for (int i = 0; i < labels.length; i++) {
            labels[i] = random.nextInt(CLASSES);
        }
        return Map.of("x", HostTensor.ofDoubles(Shape.of(ROWS, FEATURES), x),
                "labels", HostTensor.ofInts(Shape.of(ROWS), labels));
    }

    /** {@link MiniatureModels#gpt} with {@link #BATCH} sequences per micro-batch. */
    static TrainingGraph gpt(int microBatches, Optimizer optimizer, double clipNorm) {
        return gpt(BATCH, microBatches, optimizer, clipNorm);
    }

    /** The same with {@code batch} sequences per micro-batch. */
    static TrainingGraph gpt(int batch, int microBatches, Optimizer optimizer, double clipNorm) {
        return MiniatureModels.gpt(batch, microBatches, optimizer, clipNorm);
    }

    static Map<String, HostTensor> gptBatch(SplittableRandom random) {
        return gptBatch(random, BATCH);
    }

    static Map<String, HostTensor> gptBatch(SplittableRandom random, int batch) {
        int[] tokens = new int[batch * TIME];
        int[] targets = new int[batch * TIME];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = random.nextInt(VOCABULARY);
            targets[i] = i % TIME < 2 ? -1 : random.nextInt(VOCABULARY);
        }
        return Map.of("tokens", HostTensor.ofInts(Shape.of(batch, TIME), tokens),
                "targets", HostTensor.ofInts(Shape.of(batch, TIME), targets));
    }

    /** Batches for {@code iterations} iterations of {@code microBatches} micro-batches each. */
    static List<List<Map<String, HostTensor>>> batches(boolean gpt, int iterations, int microBatches, long seed) {
        return batches(gpt, iterations, microBatches, seed, BATCH);
    }

    /** The same with {@code gptBatch} sequences per GPT micro-batch. */
    static List<List<Map<String, HostTensor>>> batches(boolean gpt, int iterations, int microBatches, long seed,
                                                       int gptBatch) {
        SplittableRandom random = new SplittableRandom(seed);
        List<List<Map<String, HostTensor>>> all = new ArrayList<>();
        for (int t = 0; t < iterations; t++) {
            List<Map<String, HostTensor>> iteration = new ArrayList<>();
            for (int k = 0; k < microBatches; k++) {
                iteration.add(gpt ? gptBatch(random, gptBatch) : mlpBatch(random));
            }
            all.add(iteration);
        }
        return all;
    }

    static double[] learningRates(int iterations) {
        double[] rates = new double[iterations];
        for (int t = 0; t < iterations; t++) {
            rates[t] = 0.01 * (1 + t) / iterations;
        }
        return rates;
    }

    /** Runs the reference executor over the batches; its losses and gradient norms. */
    static List<StepResult> reference(ReferenceExecutor reference, List<List<Map<String, HostTensor>>> batches,
                                      double[] rates) {
        List<StepResult> results = new ArrayList<>();
        for (int t = 0; t < batches.size(); t++) {
            results.add(reference.step(batches.get(t), rates[t]));
        }
        return results;
    }

    /**
     * Two trainings agree within {@code tolerance}: the loss and gradient norm of every iteration,
     * then every tensor of {@code expectedTensors}, with none missing or extra on either side.
     */
    static void requireSameTraining(Tolerance tolerance, List<StepResult> expected, List<StepResult> actual,
                                    Map<String, HostTensor> expectedTensors, Map<String, HostTensor> actualTensors) {
        assertEquals(expected.size(), actual.size(), "iterations");
        for (int t = 0; t < expected.size(); t++) {
            tolerance.requireClose("loss of iteration " + t, expected.get(t).loss(), actual.get(t).loss());
            tolerance.requireClose("gradient norm of iteration " + t, expected.get(t).gradNorm(),
                    actual.get(t).gradNorm());
        }
        tolerance.requireClose("parameters and optimizer state", expectedTensors, actualTensors);
    }

    static Map<String, HostTensor> parametersAndState(TrainingExecutor executor) {
        Map<String, HostTensor> all = new LinkedHashMap<>(executor.parameters());
        all.putAll(executor.optimizerState());
        return all;
    }
}
