package dev.tessera.runtime.plan;

/**
 * One action of a device's {@link ActionOrder}: actor {@code actor} acts for micro-batch
 * {@code microBatch} (of every iteration). Its short form is {@code name/micro-batch}, e.g.
 * {@code "fc1.matmul@0:0/1"}.
 *
 * @param actor      id of an actor on the order's device
 * @param microBatch micro-batch within the iteration, from 0
 */
public record OrderedAction(int actor, int microBatch) {
}
