package dev.tessera.runtime.plan;

/**
 * One action of a device's {@link ActionOrder}: actor {@code actor} acts for micro-batch
 * {@code microBatch} (of every iteration). Its short form is {@code name/micro-batch}, e.g.
 * {@code "fc1.matmul@0:0/1"}.
 *
 * @param actor          id of an actor on the order's device
 * @param microBatch     micro-batch within the iteration, from 0
 * @param movesOnAtStart the order gives the next action its turn when this one starts rather than
 *                       when it completes: for an asynchronous action (a gradient bucket's member)
 *                       whose completion waits for actions ordered after it
 */
public record OrderedAction(int actor, int microBatch, boolean movesOnAtStart) {
    /** An action after which the order moves on once it completed. */
    public OrderedAction(int actor, int microBatch) {
        this(actor, microBatch, false);
    }
}
