package dev.tessera.autodiff;

import dev.tessera.optim.Optimizer;

/**
 * How a forward graph becomes a training graph.
 *
 * @param microBatches micro-batches whose gradients are accumulated per iteration (>= 1)
 * @param optimizer the update rule
 * @param clipNorm the global gradient-norm limit; <= 0 measures the norm without clipping
 */
public record TrainingOptions(int microBatches, Optimizer optimizer, double clipNorm) {
    public TrainingOptions {
        if (microBatches < 1) {
            throw new IllegalArgumentException("train.micro_batches must be >= 1, got " + microBatches);
        }
    }
}
