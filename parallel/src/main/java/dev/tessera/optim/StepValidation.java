package dev.tessera.optim;

import java.util.Arrays;

/**
 * How the optimizer step meets the checks that need the whole gradient: the global norm for
 * clipping and the NaN/Inf check. Either way the parameters and optimizer state after a step are
 * those of the reference executor.
 */
public enum StepValidation {
    /**
     * Every update waits for the global gradient norm: a synchronisation point of all stages
     * between the last backward of an iteration and the first forward of the next.
     */
    BEFORE_STEP("before-step"),
    /**
     * The zero-bubble paper's post-validation: each parameter is updated as soon as its gradient
     * is complete, after copying what the update overwrites; once the global norm is known, an
     * update that should have been clipped is rolled back and redone with the clipped gradient,
     * and one of a non-finite iteration is rolled back. Costs one copy of the parameters and
     * their optimizer state.
     */
    POST_VALIDATION("post-validation");

    private final String configName;

    StepValidation(String configName) {
        this.configName = configName;
    }

    /** The value of {@code optimizer.step_validation} that selects it. */
    public String configName() {
        return configName;
    }

    /** @throws IllegalArgumentException naming the accepted values */
    public static StepValidation fromConfigName(String name) {
        return Arrays.stream(values()).filter(v -> v.configName.equals(name)).findFirst().orElseThrow(() ->
                new IllegalArgumentException("optimizer.step_validation: must be one of before-step, post-validation, "
                        + "got '" + name + "'"));
    }
}
