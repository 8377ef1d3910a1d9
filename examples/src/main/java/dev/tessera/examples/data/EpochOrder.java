package dev.tessera.examples.data;

/**
 * The order in which a finite data set is visited: example number {@code i} of the run (counting
 * across batches) is element {@code i % n} of a permutation drawn for epoch {@code i / n} from the
 * seed. Pure in (seed, i), so batch k can be rebuilt at any time, e.g. after a resume.
 */
public final class EpochOrder {
    private static final long SALT = 0x5eed0fe90c4L;

    private final long seed;
    private final int size;
    /** The last epoch's permutation; batches are read in order, so one entry almost always hits. */
    private volatile Cached cached;

    private record Cached(long epoch, int[] permutation) {
    }

    public EpochOrder(long seed, int size) {
        if (size <= 0) {
            throw new IllegalArgumentException("a data set to shuffle needs at least one example, got " + size);
        }
        this.seed = seed;
        this.size = size;
    }

    public int size() {
        return size;
    }

    /** The data set index of the run's {@code exampleNumber}-th example. */
    public int indexOf(long exampleNumber) {
        if (exampleNumber < 0) {
            throw new IllegalArgumentException("example number must be >= 0, got " + exampleNumber);
        }
        long epoch = exampleNumber / size;
        return permutation(epoch)[(int) (exampleNumber % size)];
    }

    /** The data set indices of batch {@code batchIndex} of {@code batchSize} examples. */
    public int[] batch(long batchIndex, int batchSize) {
        int[] out = new int[batchSize];
        long first = Math.multiplyExact(batchIndex, (long) batchSize);
        for (int j = 0; j < batchSize; j++) {
            out[j] = indexOf(first + j);
        }
        return out;
    }

    private int[] permutation(long epoch) {
        Cached c = cached;
        if (c == null || c.epoch != epoch) {
            c = new Cached(epoch, SeededRandom.forStream(seed, epoch, SALT).permutation(size));
            cached = c;
        }
        return c.permutation;
    }
}
