package dev.tessera.runtime;

/**
 * How long a plan runs and how it is observed.
 *
 * @param iterations   number of iterations, at least 1
 * @param microBatches micro-batches per iteration, at least 1; every actor acts
 *                     {@code iterations * microBatches} times
 * @param trace        record every action (device, actor, micro-batch, start, end): 28 bytes
 *                     per action, allocated up front for the whole run
 * @param throughput   messages one actor handles before its device thread serves another
 *                     actor (Pekko's dispatcher throughput); higher favours throughput over
 *                     fairness between the actors of a device
 */
public record RunOptions(int iterations, int microBatches, boolean trace, int throughput) {
    public RunOptions {
        if (iterations < 1 || microBatches < 1) {
            throw new IllegalArgumentException("a run needs at least 1 iteration and 1 micro-batch, got "
                    + iterations + " iterations of " + microBatches + " micro-batches");
        }
        if (throughput < 1) {
            throw new IllegalArgumentException("dispatcher throughput must be at least 1, got " + throughput);
        }
    }

    /** Untraced, with Pekko's default throughput (5). */
    public static RunOptions of(int iterations, int microBatches) {
        return new RunOptions(iterations, microBatches, false, 5);
    }

    public RunOptions withTrace(boolean value) {
        return new RunOptions(iterations, microBatches, value, throughput);
    }

    public RunOptions withThroughput(int value) {
        return new RunOptions(iterations, microBatches, trace, value);
    }

    /** Actions of every actor: iterations times micro-batches. */
    public long steps() {
        return (long) iterations * microBatches;
    }
}
