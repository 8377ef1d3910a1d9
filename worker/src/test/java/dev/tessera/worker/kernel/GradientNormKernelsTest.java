package dev.tessera.worker.kernel;

import static dev.tessera.worker.kernel.OneOpHarness.array;
import static dev.tessera.worker.kernel.OneOpHarness.shape;
import static dev.tessera.worker.kernel.OneOpHarness.values;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tessera.graph.DType;
import dev.tessera.optim.ClipByNorm;
import dev.tessera.optim.GlobalNorm;
import dev.tessera.optim.SquaredNorm;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

/** Global-norm clipping as three ops: a squared norm per gradient, their global norm, a clip per gradient. */
class GradientNormKernelsTest {
    private static final int[] SCALAR = shape();
    private static final int[] SHAPE = shape(2, 3);
    private static final double[] X = {-2.0, -0.5, 0.0, 0.25, 1.0, 3.0};

    private static double tolerance(DType dtype) {
        return dtype == DType.F32 ? 1e-6 : 1e-13;
    }

    private static INDArray scalar(DType dtype, double value) {
        return array(dtype, SCALAR, value);
    }

    private static double squaredNorm(DType dtype, INDArray x) {
        return OneOpHarness.of(new SquaredNorm(), dtype, Math.toIntExact(x.rank()) == 2
                ? shape((int) x.size(0), (int) x.size(1)) : shape((int) x.length())).run(x).getDouble(0);
    }

    private static void clip(DType dtype, double maxNorm, INDArray gradient, double norm) {
        int[] dims = shape((int) gradient.size(0), (int) gradient.size(1));
        OneOpHarness.of(new ClipByNorm(maxNorm), dtype, dims, SCALAR)
                .run(new KernelContext(0, 0), gradient, scalar(dtype, norm));
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64"})
    void shouldSumTheSquaresOfEveryElement(DType dtype) {
        assertEquals(4 + 0.25 + 0 + 0.0625 + 1 + 9, squaredNorm(dtype, array(dtype, SHAPE, X)), tolerance(dtype));
    }

    /**
     * An F32 gradient longer than the kernel's copy block, with a tail that fills no group of 8
     * partial sums: the sum of every square (in double, rounded to the F32 output once); a NaN or
     * an infinity anywhere, in a later block or in the tail, makes the norm non-finite.
     */
    @org.junit.jupiter.api.Test
    void shouldSumEverySquareOfALongF32GradientAcrossBlocksAndItsTail() {
        int n = 3 * FloatVectors.BLOCK + 13;
        double[] values = new double[n];
        java.util.Random random = new java.util.Random(5);
        double expected = 0;
        for (int i = 0; i < n; i++) {
            values[i] = (float) random.nextGaussian();
            expected += values[i] * values[i];
        }
        int[] dims = shape(n);
        double norm = OneOpHarness.of(new SquaredNorm(), DType.F32, dims).run(array(DType.F32, dims, values)).getDouble(0);
        assertEquals((float) expected, norm, Math.ulp((float) expected));
        for (int at : new int[] {2 * FloatVectors.BLOCK + 5, n - 1}) {
            for (double bad : new double[] {Double.NaN, Double.POSITIVE_INFINITY}) {
                double[] broken = values.clone();
                broken[at] = bad;
                double found = OneOpHarness.of(new SquaredNorm(), DType.F32, dims).run(array(DType.F32, dims, broken))
                        .getDouble(0);
                org.junit.jupiter.api.Assertions.assertFalse(Double.isFinite(found), bad + " at " + at + " gave " + found);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64"})
    void shouldGiveEachPartOfASplitGradientASquaredNormThatSumsToTheWholes(DType dtype) {
        INDArray whole = array(dtype, SHAPE, X);
        double left = squaredNorm(dtype, whole.get(NDArrayIndex.all(), NDArrayIndex.interval(0, 2)).dup('c'));
        double right = squaredNorm(dtype, whole.get(NDArrayIndex.all(), NDArrayIndex.interval(2, 3)).dup('c'));
        assertEquals(squaredNorm(dtype, whole), left + right, tolerance(dtype));
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64"})
    void shouldTakeTheSquareRootOfTheSumOfSquaredNorms(DType dtype) {
        INDArray norm = OneOpHarness.of(new GlobalNorm(3), dtype, SCALAR, SCALAR, SCALAR)
                .run(scalar(dtype, 9), scalar(dtype, 16), scalar(dtype, 0));
        assertEquals(5.0, norm.getDouble(0), tolerance(dtype));
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64"})
    void shouldScaleAGradientInPlaceOnlyWhenTheNormExceedsTheMaximum(DType dtype) {
        INDArray above = array(dtype, SHAPE, X);
        clip(dtype, 2.0, above, 4.0);
        double scale = 2.0 / (4.0 + 1e-6);
        double[] expected = java.util.Arrays.stream(X).map(v -> v * scale).toArray();
        assertArrayEquals(expected, values(above), tolerance(dtype));
        for (double norm : new double[] {2.0, 1.0, Double.NaN}) {
            INDArray kept = array(dtype, SHAPE, X);
            clip(dtype, 2.0, kept, norm);
            assertArrayEquals(X, values(kept), 0, "norm " + norm);
        }
    }

    /** What the fused clip did: the norm of all gradients together; every gradient scaled when it exceeds the maximum. */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64"})
    void shouldClipSeveralGradientsByTheirGlobalNormAsOneFusedClipDid(DType dtype) {
        double[][] gradients = {X, {3.0, -1.0, 0.5, 2.0, -4.0, 1.5}, {0.1, 0.2, -0.3, 0.4, 0.0, -0.6}};
        double sumOfSquares = 0;
        for (double[] g : gradients) {
            for (double v : g) {
                sumOfSquares += v * v;
            }
        }
        double expectedNorm = Math.sqrt(sumOfSquares);
        double maxNorm = 1.5;
        List<INDArray> arrays = new ArrayList<>();
        INDArray[] squares = new INDArray[gradients.length];
        int[][] scalars = new int[gradients.length][];
        for (int i = 0; i < gradients.length; i++) {
            arrays.add(array(dtype, SHAPE, gradients[i]));
            squares[i] = scalar(dtype, squaredNorm(dtype, arrays.get(i)));
            scalars[i] = SCALAR;
        }
        double norm = OneOpHarness.of(new GlobalNorm(gradients.length), dtype, scalars).run(squares).getDouble(0);
        assertEquals(expectedNorm, norm, tolerance(dtype) * expectedNorm);
        for (int i = 0; i < gradients.length; i++) {
            clip(dtype, maxNorm, arrays.get(i), norm);
            double scale = maxNorm / (expectedNorm + 1e-6);
            int k = i;
            double[] expected = java.util.Arrays.stream(gradients[k]).map(v -> v * scale).toArray();
            assertArrayEquals(expected, values(arrays.get(i)), tolerance(dtype) * 10, "gradient " + i);
        }
    }
}
