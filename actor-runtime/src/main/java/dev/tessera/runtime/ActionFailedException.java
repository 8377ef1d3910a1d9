package dev.tessera.runtime;

/**
 * An action threw, and the job stopped. The message names the actor, its op, its device, the
 * micro-batch and the iteration; the cause is what the action threw.
 */
public final class ActionFailedException extends RuntimeException {
    private final String actor;
    private final String op;
    private final String device;
    private final int microBatch;
    private final long iteration;

    public ActionFailedException(String actor, String op, String device, int microBatch, long iteration,
                                 Throwable cause) {
        super("op " + op + " (actor '" + actor + "') failed on device " + device + " at micro-batch "
                + microBatch + " of iteration " + iteration + ": " + cause, cause);
        this.actor = actor;
        this.op = op;
        this.device = device;
        this.microBatch = microBatch;
        this.iteration = iteration;
    }

    public String actor() {
        return actor;
    }

    public String op() {
        return op;
    }

    public String device() {
        return device;
    }

    public int microBatch() {
        return microBatch;
    }

    public long iteration() {
        return iteration;
    }
}
