package dev.tessera.worker.kernel;

import static dev.tessera.worker.kernel.OneOpHarness.array;
import static dev.tessera.worker.kernel.OneOpHarness.shape;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tessera.autodiff.AccumulateGrad;
import dev.tessera.graph.DType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Gradient accumulation writes at an iteration's first micro-batch and adds after it, so no
 * executor zeroes the accumulator: whatever the last iteration left there must not leak in.
 */
class AccumulateGradKernelTest {
    private static final int[] SHAPE = shape(2, 3);
    private static final double[] STALE = {7.0, -7.0, Double.NaN, Double.POSITIVE_INFINITY, 1e30, -0.0};
    private static final double[] FIRST = {1.5, -0.0, 0.0, -2.25, 3.0, -0.0};
    private static final double[] SECOND = {0.5, 0.25, -1.0, 2.25, -3.0, 0.0};

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64"})
    void shouldOverwriteWhatTheLastIterationLeftAtMicroBatchZeroThenAdd(DType dtype) {
        OneOpHarness harness = OneOpHarness.of(new AccumulateGrad(), dtype, SHAPE, SHAPE);
        INDArray accumulator = array(dtype, SHAPE, STALE);
        harness.run(new KernelContext(4, 0), accumulator, array(dtype, SHAPE, FIRST));
        for (int i = 0; i < FIRST.length; i++) {
            // bit for bit what an add into zeros gives: a negative zero comes out positive
            assertEquals(Double.doubleToRawLongBits(0.0 + FIRST[i]),
                    Double.doubleToRawLongBits(accumulator.getDouble(i)), "element " + i + " after micro-batch 0");
        }
        harness.run(new KernelContext(4, 1), accumulator, array(dtype, SHAPE, SECOND));
        for (int i = 0; i < FIRST.length; i++) {
            assertEquals(Double.doubleToRawLongBits(0.0 + FIRST[i] + SECOND[i]),
                    Double.doubleToRawLongBits(accumulator.getDouble(i)), "element " + i + " after micro-batch 1");
        }
    }
}
