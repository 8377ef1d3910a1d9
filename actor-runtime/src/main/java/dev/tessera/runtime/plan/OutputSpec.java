package dev.tessera.runtime.plan;

/**
 * One output of an actor.
 *
 * @param quota number of registers of this output, at least 1: how many of its pieces may be
 *              alive (filled and not yet acknowledged by every consumer) at once. Quota 1
 *              serializes producer and consumers; quota 2 lets the producer run one micro-batch
 *              ahead.
 */
public record OutputSpec(int quota) {
}
