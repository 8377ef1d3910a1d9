package dev.tessera.worker.kernel;

/** Kernels of Neural ops. */
final class NeuralKernels {
    private NeuralKernels() {
    }

    static void register(KernelRegistry r) {
    }
}
