package dev.tessera.worker.exec;

/** A kernel failed; names the op, its type, the iteration and the micro-batch. */
public final class KernelException extends RuntimeException {
    private final String opName;
    private final String opType;
    private final long iteration;
    private final int microBatch;

    public KernelException(String opName, String opType, long iteration, int microBatch, Throwable cause) {
        super("op '" + opName + "' (" + opType + ") failed at iteration " + iteration + ", micro-batch " + microBatch
                + ": " + cause.getMessage(), cause);
        this.opName = opName;
        this.opType = opType;
        this.iteration = iteration;
        this.microBatch = microBatch;
    }

    /** The op whose kernel failed. */
    public String opName() {
        return opName;
    }

    /** The same failure reported for another name of the op, e.g. the logical op a device's op is part of. */
    public KernelException forOp(String name) {
        KernelException renamed = new KernelException(name, opType, iteration, microBatch, getCause());
        renamed.setStackTrace(getStackTrace());
        return renamed;
    }
}
