package dev.tessera.worker.kernel;

import static dev.tessera.worker.kernel.OneOpHarness.nd4j;
import static dev.tessera.worker.kernel.OneOpHarness.shape;
import static dev.tessera.worker.kernel.OneOpHarness.values;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.graph.DType;
import dev.tessera.ops.Dropout;
import dev.tessera.ops.DropoutGrad;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

class DropoutKernelsTest {
    private static final int ROWS = 200;
    private static final int COLS = 500;
    private static final KernelContext STEP_3_MICRO_1 = new KernelContext(3, 1);

    /** Values 1..n, none zero, so a zero in the output always means "dropped". */
    private static INDArray ramp(DType dtype) {
        return Nd4j.linspace(nd4j(dtype), 1, (long) ROWS * COLS, 1).reshape('c', ROWS, COLS);
    }

    private static INDArray dropout(double p, long seed, DType dtype, KernelContext context, INDArray x) {
        return OneOpHarness.of(new Dropout(p, seed), dtype, shape(ROWS, COLS)).run(context, x)[0];
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64"})
    void shouldBeIdentityWhenProbabilityIsZero(DType dtype) {
        INDArray x = ramp(dtype);
        assertEquals(x, dropout(0.0, 7, dtype, STEP_3_MICRO_1, x));
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64"})
    void shouldDropAboutPAndScaleTheRestByInverseKeepProbability(DType dtype) {
        double p = 0.25;
        INDArray x = ramp(dtype);
        double[] in = values(x);
        double[] out = values(dropout(p, 7, dtype, STEP_3_MICRO_1, x));
        int dropped = 0;
        for (int i = 0; i < out.length; i++) {
            if (out[i] == 0) {
                dropped++;
            } else {
                assertEquals(in[i] / (1 - p), out[i], Math.abs(in[i]) * 1e-6, "element " + i);
            }
        }
        double fraction = dropped / (double) out.length;
        // 100,000 draws: the standard deviation of the fraction is about 0.0014.
        assertEquals(p, fraction, 0.01, "fraction dropped");
    }

    @Test
    void shouldDrawTheSameMaskOnRerunsAndFreshKernels() {
        INDArray x = ramp(DType.F32);
        INDArray first = dropout(0.5, 42, DType.F32, STEP_3_MICRO_1, x);
        INDArray second = dropout(0.5, 42, DType.F32, STEP_3_MICRO_1, x);
        assertArrayEquals(values(first), values(second), 0);
    }

    @Test
    void shouldDrawTheSameMaskInF32AndF64() {
        double[] f32 = values(dropout(0.3, 42, DType.F32, STEP_3_MICRO_1, ramp(DType.F32)));
        double[] f64 = values(dropout(0.3, 42, DType.F64, STEP_3_MICRO_1, ramp(DType.F64)));
        for (int i = 0; i < f32.length; i++) {
            assertEquals(f64[i] == 0, f32[i] == 0, "element " + i);
        }
    }

    @Test
    void shouldDrawDifferentMasksForOtherSeedIterationOrMicroBatch() {
        INDArray x = ramp(DType.F64);
        double[] base = values(dropout(0.5, 42, DType.F64, STEP_3_MICRO_1, x));
        assertFalse(java.util.Arrays.equals(base, values(dropout(0.5, 43, DType.F64, STEP_3_MICRO_1, x))), "seed");
        assertFalse(java.util.Arrays.equals(base, values(dropout(0.5, 42, DType.F64, new KernelContext(4, 1), x))),
                "iteration");
        assertFalse(java.util.Arrays.equals(base, values(dropout(0.5, 42, DType.F64, new KernelContext(3, 0), x))),
                "micro-batch");
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64"})
    void shouldReuseTheForwardMaskInTheGradient(DType dtype) {
        double p = 0.4;
        INDArray x = ramp(dtype);
        double[] forward = values(dropout(p, 9, dtype, STEP_3_MICRO_1, x));
        INDArray dy = Nd4j.valueArrayOf(new long[] {ROWS, COLS}, -2.0, nd4j(dtype));
        double[] grad = values(OneOpHarness.of(new DropoutGrad(p, 9), dtype, shape(ROWS, COLS))
                .run(STEP_3_MICRO_1, dy)[0]);
        for (int i = 0; i < grad.length; i++) {
            double expected = forward[i] == 0 ? 0 : -2.0 / (1 - p);
            assertEquals(expected, grad[i], 1e-6, "element " + i);
        }
    }

    @Test
    void shouldReadAnInputThatIsAViewAtAnOffset() {
        INDArray big = ramp(DType.F64);
        INDArray rows = big.get(NDArrayIndex.interval(ROWS / 2, ROWS), NDArrayIndex.all());
        OneOpHarness harness = OneOpHarness.of(new Dropout(0.5, 1), DType.F64, shape(ROWS / 2, COLS));
        double[] fromView = values(harness.run(STEP_3_MICRO_1, rows)[0]);
        double[] fromCopy = values(harness.run(STEP_3_MICRO_1, rows.dup('c'))[0]);
        assertArrayEquals(fromCopy, fromView, 0);
        assertTrue(fromView[0] == 0 || fromView[0] == 2 * (ROWS / 2 * COLS + 1), "first element comes from the view");
    }
}
