package dev.tessera.optim;

import dev.tessera.graph.OpDef;

/**
 * An optimizer step for one parameter: inputs are the parameter (0), its gradient (1), the
 * optimizer state it keeps, then scalars (learning rate, step); {@link #mutatedInputs()} are the
 * parameter and its state, updated in place. {@link BackedUpUpdate} and {@link ValidateUpdate}
 * wrap any such step for post-validation.
 */
public interface OptimizerUpdate extends OpDef {
    /** Index of the gradient among the inputs. */
    int GRADIENT = 1;

    /** How many inputs the step reads. */
    int inputCount();
}
