package dev.tessera.worker.exec;

import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.nativeblas.NativeOpsHolder;

/**
 * How many threads ND4J's native ops and BLAS use in this process. ND4J keeps this per process,
 * so it is set once, from the run config ({@code runtime.threads}), before training starts.
 */
public final class ComputeThreads {
    private ComputeThreads() {
    }

    /** @throws IllegalArgumentException if {@code threads < 1} */
    public static void set(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("runtime.threads must be >= 1, got " + threads);
        }
        Nd4j.getBackend(); // loads the native library before its ops are reached
        // OpenMP's count governs ND4J's element-wise and reduction loops; the environment's
        // governs its newer ops, and BLAS has its own.
        NativeOpsHolder.getInstance().getDeviceNativeOps().setOmpNumThreads(threads);
        Nd4j.getEnvironment().setMaxThreads(threads);
        Nd4j.getEnvironment().setMaxMasterThreads(threads);
        Nd4j.factory().blas().setMaxThreads(threads);
    }

    /** The OpenMP thread count ND4J's native loops use now. */
    public static int current() {
        Nd4j.getBackend();
        return NativeOpsHolder.getInstance().getDeviceNativeOps().ompGetMaxThreads();
    }
}
