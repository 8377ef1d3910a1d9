package dev.tessera.autodiff;

import dev.tessera.optim.Optimizer;
import dev.tessera.optim.StepValidation;

/**
 * How a forward graph becomes a training graph.
 *
 * @param microBatches micro-batches whose gradients are accumulated per iteration (>= 1)
 * @param optimizer the update rule
 * @param clipNorm the global gradient-norm limit; <= 0 measures the norm without clipping
 * @param stepValidation whether updates wait for the gradient norm or are validated after it
 */
public record TrainingOptions(int microBatches, Optimizer optimizer, double clipNorm, StepValidation stepValidation) {
    public TrainingOptions {
        if (microBatches < 1) {
            throw new IllegalArgumentException("train.micro_batches must be >= 1, got " + microBatches);
        }
        if (stepValidation == null) {
            throw new IllegalArgumentException("stepValidation must be given; BEFORE_STEP is the default");
        }
    }

    /** Updates that wait for the gradient norm ({@link StepValidation#BEFORE_STEP}). */
    public TrainingOptions(int microBatches, Optimizer optimizer, double clipNorm) {
        this(microBatches, optimizer, clipNorm, StepValidation.BEFORE_STEP);
    }

    /** The same options with another step validation. */
    public TrainingOptions withStepValidation(StepValidation validation) {
        return new TrainingOptions(microBatches, optimizer, clipNorm, validation);
    }
}
