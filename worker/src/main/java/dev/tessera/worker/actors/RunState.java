package dev.tessera.worker.actors;

import dev.tessera.tensor.HostTensor;
import java.util.List;
import java.util.Map;

/**
 * What the actions of one run read and write: the batches and the learning-rate schedule of
 * each iteration, and the losses and gradient norms they record. The executor fills it before
 * starting the run (the messages that start the run's actors publish it to the device threads)
 * and reads it after the run's future completed, once every actor of the run stopped.
 */
final class RunState {
    /** Global index of the run's first iteration (kernels and the optimizer step count from it). */
    long firstIteration;
    int microBatches;
    List<List<Map<String, HostTensor>>> batches;
    double[] learningRates;
    /** Loss of micro-batch k of run iteration t at {@code t * microBatches + k}. */
    double[] losses;
    double[] gradNorms;
    /**
     * When not null, every op checks its outputs (and the tensors it updates) and records here
     * each one holding a NaN or an infinity: set only while replaying a failed iteration to name
     * the op that produced the first.
     */
    java.util.Queue<NonFiniteOutput> nonFinite;
    /** Post-validation steps not yet validated, undone when a run stops at a non-finite norm. */
    final PendingRollbacks rollbacks = new PendingRollbacks();

    void start(long first, int microBatchCount, List<List<Map<String, HostTensor>>> iterations, double[] rates) {
        firstIteration = first;
        microBatches = microBatchCount;
        batches = iterations;
        learningRates = rates;
        losses = new double[iterations.size() * microBatchCount];
        gradNorms = new double[iterations.size()];
    }
}
