package dev.tessera.worker.kernel;

import static dev.tessera.worker.kernel.OneOpHarness.array;
import static dev.tessera.worker.kernel.OneOpHarness.shape;
import static dev.tessera.worker.kernel.OneOpHarness.values;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tessera.graph.DType;
import dev.tessera.ops.BroadcastAxis;
import dev.tessera.ops.Concat;
import dev.tessera.ops.Pad;
import dev.tessera.ops.ReduceMean;
import dev.tessera.ops.ReduceSum;
import dev.tessera.ops.Slice;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.ndarray.INDArray;

class AxisKernelsTest {
    /** [2, 3, 2] holding 0..11 in C order. */
    private static INDArray cube(DType dtype) {
        return array(dtype, shape(2, 3, 2), 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11);
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64"})
    void shouldSliceMiddleAxis(DType dtype) {
        INDArray out = OneOpHarness.of(new Slice(1, 1, 3), dtype, shape(2, 3, 2)).run(cube(dtype));
        assertArrayEquals(new long[] {2, 2, 2}, out.shape());
        assertArrayEquals(new double[] {2, 3, 4, 5, 8, 9, 10, 11}, values(out), 0);
    }

    @Test
    void shouldSliceLastAxisGivenNegativeAxis() {
        INDArray out = OneOpHarness.of(new Slice(-1, 1, 2), DType.F64, shape(2, 3, 2)).run(cube(DType.F64));
        assertArrayEquals(new double[] {1, 3, 5, 7, 9, 11}, values(out), 0);
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64"})
    void shouldPadWithZerosAroundInput(DType dtype) {
        INDArray x = array(dtype, shape(2, 2), 1, 2, 3, 4);
        INDArray out = OneOpHarness.of(new Pad(1, 1, 2), dtype, shape(2, 2)).run(x);
        assertArrayEquals(new long[] {2, 5}, out.shape());
        assertArrayEquals(new double[] {0, 1, 2, 0, 0, 0, 3, 4, 0, 0}, values(out), 0);
    }

    @Test
    void shouldPadFirstAxisWithoutMargins() {
        INDArray x = array(DType.F64, shape(2, 2), 1, 2, 3, 4);
        INDArray out = OneOpHarness.of(new Pad(0, 0, 1), DType.F64, shape(2, 2)).run(x);
        assertArrayEquals(new double[] {1, 2, 3, 4, 0, 0}, values(out), 0);
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64"})
    void shouldConcatAlongMiddleAxis(DType dtype) {
        INDArray a = array(dtype, shape(2, 1, 2), 0, 1, 2, 3);
        INDArray b = array(dtype, shape(2, 2, 2), 10, 11, 12, 13, 14, 15, 16, 17);
        INDArray out = OneOpHarness.of(new Concat(1), dtype, shape(2, 1, 2), shape(2, 2, 2)).run(a, b);
        assertArrayEquals(new long[] {2, 3, 2}, out.shape());
        assertArrayEquals(new double[] {0, 1, 10, 11, 12, 13, 2, 3, 14, 15, 16, 17}, values(out), 0);
    }

    @Test
    void shouldConcatThreeInputsAlongFirstAxis() {
        INDArray a = array(DType.F64, shape(1, 2), 1, 2);
        INDArray b = array(DType.F64, shape(2, 2), 3, 4, 5, 6);
        INDArray c = array(DType.F64, shape(1, 2), 7, 8);
        INDArray out = OneOpHarness.of(new Concat(0), DType.F64, shape(1, 2), shape(2, 2), shape(1, 2)).run(a, b, c);
        assertArrayEquals(new double[] {1, 2, 3, 4, 5, 6, 7, 8}, values(out), 0);
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64"})
    void shouldSumOverEachAxis(DType dtype) {
        assertArrayEquals(new double[] {6, 8, 10, 12, 14, 16},
                values(OneOpHarness.of(new ReduceSum(0), dtype, shape(2, 3, 2)).run(cube(dtype))), 0);
        assertArrayEquals(new double[] {6, 9, 24, 27},
                values(OneOpHarness.of(new ReduceSum(1), dtype, shape(2, 3, 2)).run(cube(dtype))), 0);
        assertArrayEquals(new double[] {1, 5, 9, 13, 17, 21},
                values(OneOpHarness.of(new ReduceSum(-1), dtype, shape(2, 3, 2)).run(cube(dtype))), 0);
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64"})
    void shouldAverageOverAxis(DType dtype) {
        INDArray out = OneOpHarness.of(new ReduceMean(1), dtype, shape(2, 3, 2)).run(cube(dtype));
        assertArrayEquals(new long[] {2, 2}, out.shape());
        assertArrayEquals(new double[] {2, 3, 8, 9}, values(out), 1e-6);
    }

    @Test
    void shouldReduceVectorToScalar() {
        INDArray v = array(DType.F64, shape(4), 1, 2, 3, 6);
        INDArray sum = OneOpHarness.of(new ReduceSum(0), DType.F64, shape(4)).run(v);
        INDArray mean = OneOpHarness.of(new ReduceMean(0), DType.F64, shape(4)).run(v);
        assertEquals(0, sum.rank());
        assertEquals(12.0, sum.getDouble(0), 0);
        assertEquals(3.0, mean.getDouble(0), 0);
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64"})
    void shouldBroadcastAlongNewMiddleAxis(DType dtype) {
        INDArray x = array(dtype, shape(2, 2), 1, 2, 3, 4);
        INDArray out = OneOpHarness.of(new BroadcastAxis(1, 3), dtype, shape(2, 2)).run(x);
        assertArrayEquals(new long[] {2, 3, 2}, out.shape());
        assertArrayEquals(new double[] {1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4}, values(out), 0);
    }

    @Test
    void shouldBroadcastAlongNewFirstAndLastAxes() {
        INDArray x = array(DType.F64, shape(2), 1, 2);
        assertArrayEquals(new double[] {1, 2, 1, 2, 1, 2},
                values(OneOpHarness.of(new BroadcastAxis(0, 3), DType.F64, shape(2)).run(x)), 0);
        assertArrayEquals(new double[] {1, 1, 1, 2, 2, 2},
                values(OneOpHarness.of(new BroadcastAxis(-1, 3), DType.F64, shape(2)).run(x)), 0);
    }

    @Test
    void shouldBroadcastScalarToVector() {
        INDArray x = array(DType.F64, shape(), 2.5);
        INDArray out = OneOpHarness.of(new BroadcastAxis(0, 4), DType.F64, shape()).run(x);
        assertArrayEquals(new double[] {2.5, 2.5, 2.5, 2.5}, values(out), 0);
    }

    @Test
    void shouldKeepSingletonAxesWhenReducingAndBroadcasting() {
        INDArray x = array(DType.F64, shape(2, 1, 3), 1, 2, 3, 4, 5, 6);
        INDArray sum = OneOpHarness.of(new ReduceSum(2), DType.F64, shape(2, 1, 3)).run(x);
        assertArrayEquals(new long[] {2, 1}, sum.shape());
        assertArrayEquals(new double[] {6, 15}, values(sum), 0);
        INDArray mean = OneOpHarness.of(new ReduceMean(1), DType.F64, shape(2, 1, 3)).run(x);
        assertArrayEquals(new double[] {1, 2, 3, 4, 5, 6}, values(mean), 0);
        INDArray wide = OneOpHarness.of(new BroadcastAxis(2, 2), DType.F64, shape(2, 1)).run(sum);
        assertArrayEquals(new double[] {6, 6, 15, 15}, values(wide), 0);
    }
}
