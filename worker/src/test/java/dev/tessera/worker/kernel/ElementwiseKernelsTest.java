package dev.tessera.worker.kernel;

import static dev.tessera.worker.kernel.OneOpHarness.array;
import static dev.tessera.worker.kernel.OneOpHarness.shape;
import static dev.tessera.worker.kernel.OneOpHarness.values;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tessera.graph.DType;
import dev.tessera.ops.Gelu;
import dev.tessera.ops.GeluGrad;
import dev.tessera.ops.Mul;
import dev.tessera.ops.Relu;
import dev.tessera.ops.ReluGrad;
import dev.tessera.ops.Scale;
import dev.tessera.ops.Tanh;
import dev.tessera.ops.TanhGrad;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

class ElementwiseKernelsTest {
    private static final int[] SHAPE = shape(2, 3);
    private static final double[] X = {-2.0, -0.5, 0.0, 0.25, 1.0, 3.0};
    private static final double[] DY = {0.5, -1.0, 2.0, 1.5, -0.25, 4.0};

    private static double tolerance(DType dtype) {
        return dtype == DType.F32 ? 1e-6 : 1e-13;
    }

    private static INDArray x(DType dtype) {
        return array(dtype, SHAPE, X);
    }

    private static INDArray dy(DType dtype) {
        return array(dtype, SHAPE, DY);
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64"})
    void shouldMultiplyElementwise(DType dtype) {
        INDArray out = OneOpHarness.of(new Mul(), dtype, SHAPE, SHAPE).run(x(dtype), dy(dtype));
        assertArrayEquals(new double[] {-1.0, 0.5, 0.0, 0.375, -0.25, 12.0}, values(out), tolerance(dtype));
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64"})
    void shouldScaleByConstant(DType dtype) {
        INDArray out = OneOpHarness.of(new Scale(-1.5), dtype, SHAPE).run(x(dtype));
        assertArrayEquals(new double[] {3.0, 0.75, -0.0, -0.375, -1.5, -4.5}, values(out), tolerance(dtype));
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64"})
    void shouldZeroNegativesInRelu(DType dtype) {
        INDArray out = OneOpHarness.of(new Relu(), dtype, SHAPE).run(x(dtype));
        assertArrayEquals(new double[] {0, 0, 0, 0.25, 1.0, 3.0}, values(out), 0);
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64"})
    void shouldPassGradientOnlyWherePositiveInReluGrad(DType dtype) {
        INDArray out = OneOpHarness.of(new ReluGrad(), dtype, SHAPE, SHAPE).run(dy(dtype), x(dtype));
        assertArrayEquals(new double[] {0, 0, 0, 1.5, -0.25, 4.0}, values(out), 0);
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64"})
    void shouldComputeTanh(DType dtype) {
        INDArray out = OneOpHarness.of(new Tanh(), dtype, SHAPE).run(x(dtype));
        // tanh(-2), tanh(-0.5), tanh(0), tanh(0.25), tanh(1), tanh(3), to 16 digits.
        double[] expected = {-0.9640275800758169, -0.46211715726000974, 0.0, 0.24491866240370913,
                0.7615941559557649, 0.9950547536867305};
        assertArrayEquals(expected, values(out), tolerance(dtype));
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64"})
    void shouldComputeTanhGradFromOutput(DType dtype) {
        double[] y = {-0.5, 0.0, 0.5, 0.9, -0.9, 0.1};
        INDArray out = OneOpHarness.of(new TanhGrad(), dtype, SHAPE, SHAPE).run(dy(dtype), array(dtype, SHAPE, y));
        // dy * (1 - y^2)
        double[] expected = {0.375, -1.0, 1.5, 0.285, -0.0475, 3.96};
        assertArrayEquals(expected, values(out), tolerance(dtype) * 10);
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64"})
    void shouldComputeGeluWithTanhApproximation(DType dtype) {
        INDArray out = OneOpHarness.of(new Gelu(), dtype, SHAPE).run(x(dtype));
        // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), evaluated by hand for the known points.
        assertEquals(-0.04540230591222, values(out)[0], 1e-6 + tolerance(dtype));
        assertEquals(0.0, values(out)[2], 0);
        assertEquals(0.84119199060827, values(out)[4], 1e-6 + tolerance(dtype));
        double[] expected = new double[X.length];
        for (int i = 0; i < X.length; i++) {
            expected[i] = Gelu.value(X[i]);
        }
        assertArrayEquals(expected, values(out), tolerance(dtype) * 4);
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64"})
    void shouldComputeGeluGradAsDyTimesDerivative(DType dtype) {
        OneOpHarness harness = OneOpHarness.of(new GeluGrad(), dtype, SHAPE, SHAPE);
        double[] expected = new double[X.length];
        for (int i = 0; i < X.length; i++) {
            double h = 1e-6;
            expected[i] = DY[i] * (Gelu.value(X[i] + h) - Gelu.value(X[i] - h)) / (2 * h);
            assertEquals(expected[i], DY[i] * GeluGrad.derivative(X[i]), 1e-8, "reference derivative at " + X[i]);
        }
        INDArray out = harness.run(dy(dtype), x(dtype));
        assertArrayEquals(expected, values(out), dtype == DType.F32 ? 1e-5 : 1e-8);
        assertEquals(0.5 * DY[2], values(out)[2], tolerance(dtype), "gelu'(0) is 1/2");
    }

    @Test
    void shouldComputeGeluOfStridedViewLikeOfCopy() {
        INDArray wide = array(DType.F64, shape(2, 6), -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7, 8);
        INDArray columns = wide.get(NDArrayIndex.all(), NDArrayIndex.interval(1, 4));
        OneOpHarness gelu = OneOpHarness.of(new Gelu(), DType.F64, shape(2, 3));
        assertArrayEquals(values(gelu.run(columns.dup('c'))), values(gelu.run(columns)), 0);
        OneOpHarness grad = OneOpHarness.of(new GeluGrad(), DType.F64, shape(2, 3), shape(2, 3));
        assertArrayEquals(values(grad.run(columns.dup('c'), columns.dup('c'))), values(grad.run(columns, columns)), 0);
    }
}
