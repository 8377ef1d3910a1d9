package dev.tessera.worker.exec;

/**
 * A loss or a gradient became NaN or infinite, so the step was stopped before any parameter or
 * optimizer state was updated. Names the step (1-based, as logs count), the tensor found not
 * finite (the loss, the first parameter gradient with a non-finite element, or the gradient norm
 * when every gradient is finite but the sum of their squares overflows) and the first op whose
 * output was not finite.
 */
public final class NonFiniteException extends RuntimeException {
    private static final String ADVICE = "Lower optimizer.lr or set optimizer.clip_norm";
    private static final String GRADIENT_ADVICE = ADVICE + ", or look for extreme values in the inputs of this step";

    private final long iteration;
    private final String what;
    private final String tensorName;
    private final String opName;
    private final String advice;

    private NonFiniteException(long iteration, String what, String tensorName, String opName, String detail,
                               String advice) {
        super(what + " is not finite at step " + (iteration + 1) + "; first non-finite value produced by op '" + opName
                + "' (" + detail + "). No parameter was updated at this step. " + advice);
        this.iteration = iteration;
        this.what = what;
        this.tensorName = tensorName;
        this.opName = opName;
        this.advice = advice;
    }

    /** The same finding with the op that produced the first non-finite value, found by a replay. */
    public NonFiniteException withCulprit(String culprit, String detail) {
        return new NonFiniteException(iteration, what, tensorName, culprit, detail, advice);
    }

    /**
     * @param iteration 0-based index of the failing iteration
     * @param detail    where and what, e.g. {@code micro-batch 1, loss NaN}
     */
    public static NonFiniteException loss(long iteration, String lossName, String opName, String detail) {
        return new NonFiniteException(iteration, "loss", lossName, opName, detail, ADVICE);
    }

    /**
     * @param gradientName the first parameter gradient (accumulator) with a NaN or an infinity
     * @param detail       where and what, e.g. {@code micro-batch 0, gradient norm NaN}
     */
    public static NonFiniteException gradient(long iteration, String gradientName, String opName, String detail) {
        return new NonFiniteException(iteration, "gradient '" + gradientName + "'", gradientName, opName, detail,
                GRADIENT_ADVICE);
    }

    /** The gradient norm is not finite, where no gradient is known to be (yet) or every one is finite. */
    public static NonFiniteException gradientNorm(long iteration, String normName, String opName, String detail) {
        return new NonFiniteException(iteration, "gradient norm '" + normName + "'", normName, opName, detail,
                GRADIENT_ADVICE);
    }

    /** 0-based index of the iteration that was stopped. */
    public long iteration() {
        return iteration;
    }

    /** The loss, the first non-finite parameter gradient, or the gradient norm. */
    public String tensorName() {
        return tensorName;
    }

    /** The first op, in execution order, whose output was not finite. */
    public String opName() {
        return opName;
    }
}
