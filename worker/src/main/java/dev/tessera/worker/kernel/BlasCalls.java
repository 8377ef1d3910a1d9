package dev.tessera.worker.kernel;

import org.nd4j.linalg.factory.Nd4j;

/**
 * Keeps multithreaded BLAS calls from overlapping. The OpenBLAS that ND4J's CPU build ships is
 * not safe to enter from several threads at once while it runs with more than one thread of its
 * own: two device threads multiplying at the same moment got wrong products now and then
 * (`ParallelTrainingTest`'s tensor- and vocabulary-parallel GPT cases, run without a thread
 * budget, so BLAS at its default of one thread per core: 2 of 5 runs of the class failed with
 * wrong gradients, 0 of 5 with {@code OPENBLAS_NUM_THREADS=1}). With one BLAS thread, the
 * trainer's default ({@code runtime.threads = 1}), each call runs on its caller's thread and
 * calls overlap freely; with more, they take turns, each using all of BLAS's threads.
 */
final class BlasCalls {
    private static final Object TURN = new Object();

    private BlasCalls() {
    }

    /** Runs {@code call}, a BLAS call or an ND4J call that makes one, alone if BLAS has several threads. */
    static void run(Runnable call) {
        if (Nd4j.factory().blas().getMaxThreads() > 1) {
            synchronized (TURN) {
                call.run();
            }
        } else {
            call.run();
        }
    }
}
