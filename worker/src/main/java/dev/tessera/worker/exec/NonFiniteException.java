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

    /** What was found not finite, as the factories name it. */
    public enum Kind { LOSS, GRADIENT, GRADIENT_NORM }

    private final Kind kind;
    private final long iteration;
    private final String what;
    private final String tensorName;
    private final String opName;
    private final String detail;
    private final String advice;

    private NonFiniteException(Kind kind, long iteration, String what, String tensorName, String opName, String detail,
                               String advice) {
        super(what + " is not finite at step " + (iteration + 1) + "; first non-finite value produced by op '" + opName
                + "' (" + detail + "). No parameter was updated at this step. " + advice);
        this.kind = kind;
        this.iteration = iteration;
        this.what = what;
        this.tensorName = tensorName;
        this.opName = opName;
        this.detail = detail;
        this.advice = advice;
    }

    /** The same finding with the op that produced the first non-finite value, found by a replay. */
    public NonFiniteException withCulprit(String culprit, String detail) {
        return new NonFiniteException(kind, iteration, what, tensorName, culprit, detail, advice);
    }

    /**
     * @param iteration 0-based index of the failing iteration
     * @param detail    where and what, e.g. {@code micro-batch 1, loss NaN}
     */
    public static NonFiniteException loss(long iteration, String lossName, String opName, String detail) {
        return new NonFiniteException(Kind.LOSS, iteration, "loss", lossName, opName, detail, ADVICE);
    }

    /**
     * @param gradientName the first parameter gradient (accumulator) with a NaN or an infinity
     * @param detail       where and what, e.g. {@code micro-batch 0, gradient norm NaN}
     */
    public static NonFiniteException gradient(long iteration, String gradientName, String opName, String detail) {
        return new NonFiniteException(Kind.GRADIENT, iteration, "gradient '" + gradientName + "'", gradientName, opName, detail,
                GRADIENT_ADVICE);
    }

    /** The gradient norm is not finite, where no gradient is known to be (yet) or every one is finite. */
    public static NonFiniteException gradientNorm(long iteration, String normName, String opName, String detail) {
        return new NonFiniteException(Kind.GRADIENT_NORM, iteration, "gradient norm '" + normName + "'", normName, opName, detail,
                GRADIENT_ADVICE);
    }

    /** The finding rebuilt from its parts, e.g. as another process reported it. */
    public static NonFiniteException of(Kind kind, long iteration, String tensorName, String opName, String detail) {
        return switch (kind) {
            case LOSS -> loss(iteration, tensorName, opName, detail);
            case GRADIENT -> gradient(iteration, tensorName, opName, detail);
            case GRADIENT_NORM -> gradientNorm(iteration, tensorName, opName, detail);
        };
    }

    public Kind kind() {
        return kind;
    }

    /** Where and what, e.g. {@code micro-batch 1, loss NaN}. */
    public String detail() {
        return detail;
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
