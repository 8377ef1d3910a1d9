package dev.tessera.runtime.plan;

/**
 * One output of an actor.
 *
 * @param quota number of registers of this output, at least 1: how many of its pieces may be
 *              alive (filled and not yet acknowledged by every consumer) at once. Quota 1
 *              serializes producer and consumers; quota 2 lets the producer run one micro-batch
 *              ahead.
 * @param bytes size of one register's payload, for measuring the registers in use (0 when
 *              unknown or for a token)
 */
public record OutputSpec(int quota, long bytes) {
    public OutputSpec {
        if (bytes < 0) {
            throw new IllegalArgumentException("an output's payload bytes must be >= 0, got " + bytes);
        }
    }

    /** An output whose payload size is not given. */
    public OutputSpec(int quota) {
        this(quota, 0);
    }
}
