package dev.tessera.worker.exec;

/**
 * The loss became NaN or infinite; names the step (1-based, as logs count) and the first op whose
 * output was not finite.
 */
public final class NonFiniteException extends RuntimeException {
    private final long iteration;
    private final String opName;

    public NonFiniteException(long iteration, String opName, String detail) {
        super("loss is not finite at step " + (iteration + 1) + "; first non-finite value produced by op '" + opName + "' ("
                + detail + "). Lower optimizer.lr or set optimizer.clip_norm");
        this.iteration = iteration;
        this.opName = opName;
    }

    public long iteration() {
        return iteration;
    }

    public String opName() {
        return opName;
    }
}
