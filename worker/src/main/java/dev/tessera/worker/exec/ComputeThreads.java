package dev.tessera.worker.exec;

import dev.tessera.worker.kernel.KernelThreads;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.nativeblas.NativeOpsHolder;

/**
 * How many threads ND4J's native ops, BLAS and the Java kernels ({@link KernelThreads}) use: the
 * thread budget of each device, from the
 * run config ({@code runtime.threads}), set before training starts. OpenMP keeps its count per
 * calling thread, so each device thread applies the budget to itself when it first computes
 * ({@link #applyToCurrentThread()}); BLAS and ND4J's own pool are process-wide.
 */
public final class ComputeThreads {
    private static volatile int budget;
    private static final ThreadLocal<Integer> APPLIED = new ThreadLocal<>();

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
        KernelThreads.set(threads);
        budget = threads;
        APPLIED.set(threads);
    }

    /**
     * Gives the calling thread the budget last passed to {@link #set}, if any; a thread-local
     * check after the first call, so a device thread may call it before every action.
     */
    public static void applyToCurrentThread() {
        int wanted = budget;
        if (wanted == 0) {
            return;
        }
        Integer applied = APPLIED.get();
        if (applied == null || applied != wanted) {
            NativeOpsHolder.getInstance().getDeviceNativeOps().setOmpNumThreads(wanted);
            APPLIED.set(wanted);
        }
    }

    /** The OpenMP thread count ND4J's native loops use now. */
    public static int current() {
        Nd4j.getBackend();
        return NativeOpsHolder.getInstance().getDeviceNativeOps().ompGetMaxThreads();
    }
}
