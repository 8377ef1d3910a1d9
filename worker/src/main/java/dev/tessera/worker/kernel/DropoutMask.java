package dev.tessera.worker.kernel;

/**
 * The dropout keep mask as a pure function of (seed, iteration, micro-batch, element index): a
 * counter-based hash (the SplitMix64 finalizer), so any executor, any thread count and any resumed
 * run draws the same mask, and the backward op recomputes the forward's mask exactly.
 */
final class DropoutMask {
    private static final long GOLDEN_GAMMA = 0x9e3779b97f4a7c15L;
    private static final double TWO_TO_53 = 0x1p53;

    private DropoutMask() {
    }

    /** The stream of one dropout op in one micro-batch of one iteration. */
    static long streamKey(long seed, long iteration, int microBatch) {
        long key = mix(seed + GOLDEN_GAMMA);
        key = mix(key + iteration * GOLDEN_GAMMA);
        return mix(key + microBatch * GOLDEN_GAMMA);
    }

    /** Hash values (53 bits) below this are dropped: the drop probability is {@code p} up to 2^-53. */
    static long threshold(double p) {
        return (long) (p * TWO_TO_53);
    }

    /** Whether element {@code index} is kept in stream {@code key}. */
    static boolean keep(long key, long index, long threshold) {
        return (mix(key + (index + 1) * GOLDEN_GAMMA) >>> 11) >= threshold;
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }
}
