package dev.tessera.worker.kernel;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;

/**
 * The thread budget of the Java kernels, as {@code ComputeThreads} sets ND4J's and BLAS's: with a
 * budget of n, an element-wise or row kernel over a large tensor cuts it into up to n parts that
 * run at once, the calling device thread taking the first. Each element (or row) is computed by
 * the same code whatever the cut, so the results are the same bits for any budget. With the
 * default budget of 1 a kernel runs on its own thread and nothing else is involved.
 */
public final class KernelThreads {
    /** Fewer elements than this per part are not worth waking a thread for (a few microseconds). */
    static final int MIN_PART = 1 << 15;

    private static volatile int budget = 1;
    private static final ExecutorService POOL = Executors.newCachedThreadPool(new ThreadFactory() {
        private final AtomicInteger count = new AtomicInteger();

        @Override
        public Thread newThread(Runnable task) {
            Thread thread = new Thread(task, "tessera-kernel-" + count.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        }
    });

    private KernelThreads() {
    }

    /** The budget of every device thread: how many threads one kernel may use at once (>= 1). */
    public static void set(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("a kernel needs at least 1 thread, got " + threads);
        }
        budget = threads;
    }

    /** How many parts {@code units} of work (elements or rows of {@code unitSize} elements) are cut into. */
    static int parts(long units, long unitSize) {
        long perPart = Math.max(1, MIN_PART / Math.max(1, unitSize));
        return (int) Math.max(1, Math.min(budget, units / perPart));
    }

    /**
     * Runs {@code part.accept(p)} for every p in [0, parts), part 0 on the calling thread, and
     * returns once all have finished; the first failure is rethrown.
     */
    static void run(int parts, IntConsumer part) {
        if (parts <= 1) {
            part.accept(0);
            return;
        }
        @SuppressWarnings("unchecked")
        Future<?>[] others = new Future<?>[parts - 1];
        for (int p = 1; p < parts; p++) {
            int index = p;
            others[p - 1] = POOL.submit(() -> part.accept(index));
        }
        RuntimeException failure = null;
        try {
            part.accept(0);
        } catch (RuntimeException e) {
            failure = e;
        }
        for (Future<?> other : others) {
            try {
                other.get();
            } catch (java.util.concurrent.ExecutionException e) {
                if (failure == null) {
                    failure = e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                if (failure == null) {
                    failure = new IllegalStateException("interrupted while a kernel's parts ran", e);
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    /** A range of elements a part of a kernel covers, {@code from} inclusive, {@code to} exclusive. */
    @FunctionalInterface
    interface Range {
        void run(int from, int to);
    }

    /**
     * Runs {@code range} over the elements [0, n) in as many parts as the budget allows, each part
     * a whole number of {@code unit}s (rows) and, but for the last, of {@link FloatVectors#BLOCK}s.
     */
    static void inParts(int n, int unit, Range range) {
        if (n == 0) {
            return;
        }
        int units = n / unit;
        int parts = parts(units, unit);
        int align = Math.max(1, FloatVectors.BLOCK / unit);
        run(parts, part -> range.run(start(part, parts, units, align) * unit,
                part + 1 == parts ? n : start(part + 1, parts, units, align) * unit));
    }

    /** The first unit of part {@code p} of {@code units} cut into {@code parts}, rounded down to a multiple of {@code align}. */
    static int start(int p, int parts, int units, int align) {
        long start = (long) units * p / parts;
        return (int) (start - start % align);
    }
}
