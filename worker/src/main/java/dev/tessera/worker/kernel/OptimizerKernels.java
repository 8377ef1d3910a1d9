package dev.tessera.worker.kernel;

/** Kernels of Optimizer ops. */
final class OptimizerKernels {
    private OptimizerKernels() {
    }

    static void register(KernelRegistry r) {
    }
}
