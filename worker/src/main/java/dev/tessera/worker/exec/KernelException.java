package dev.tessera.worker.exec;

/** A kernel failed; names the op, its type, the iteration and the micro-batch. */
public final class KernelException extends RuntimeException {
    public KernelException(String opName, String opType, long iteration, int microBatch, Throwable cause) {
        super("op '" + opName + "' (" + opType + ") failed at iteration " + iteration + ", micro-batch " + microBatch
                + ": " + cause.getMessage(), cause);
    }
}
