package dev.tessera.examples.data;

/**
 * A small SplitMix64 generator. Written out here rather than using {@link java.util.Random} so
 * that the data a seed produces is fixed by this code, not by a JDK version: batch k of a run
 * must stay the same forever for resume and for comparing runs.
 */
public final class SeededRandom {
    private long state;

    public SeededRandom(long seed) {
        this.state = seed;
    }

    /** A generator for one stream (e.g. one batch index or one epoch) of a seeded run. */
    public static SeededRandom forStream(long seed, long stream, long salt) {
        return new SeededRandom(mix(mix(seed ^ salt) + stream));
    }

    /** The SplitMix64 finalizer: a bijective scramble of 64 bits. */
    public static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    public long nextLong() {
        state += 0x9e3779b97f4a7c15L;
        return mix(state);
    }

    /** Uniform in [0, bound), without modulo bias. */
    public int nextInt(int bound) {
        if (bound <= 0) {
            throw new IllegalArgumentException("bound must be positive, got " + bound);
        }
        long limit = Long.MAX_VALUE - (Long.MAX_VALUE % bound);
        while (true) {
            long r = nextLong() >>> 1;
            if (r < limit) {
                return (int) (r % bound);
            }
        }
    }

    /** Uniform in [0, bound) for long bounds, without modulo bias. */
    public long nextLong(long bound) {
        if (bound <= 0) {
            throw new IllegalArgumentException("bound must be positive, got " + bound);
        }
        long limit = Long.MAX_VALUE - (Long.MAX_VALUE % bound);
        while (true) {
            long r = nextLong() >>> 1;
            if (r < limit) {
                return r % bound;
            }
        }
    }

    /** A uniformly random permutation of 0..n-1 (Fisher-Yates). */
    public int[] permutation(int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }
}
