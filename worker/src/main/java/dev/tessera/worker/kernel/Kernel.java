package dev.tessera.worker.kernel;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Runs one op instance on one device. Created once per op instance (so it may keep scratch
 * buffers sized for its fixed shapes) and run every micro-batch.
 *
 * <p>Contract: {@code outputs} are preallocated, C-ordered buffers of the op's output shapes and
 * dtypes; the kernel overwrites every element of each. It never keeps references to
 * {@code inputs} or {@code outputs} beyond the call, and never writes to an input unless the op
 * declares it in {@link dev.tessera.graph.OpDef#mutatedInputs()}.
 */
@FunctionalInterface
public interface Kernel {
    void run(INDArray[] inputs, INDArray[] outputs, KernelContext context);
}
