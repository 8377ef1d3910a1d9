package dev.tessera.worker.kernel;

import static dev.tessera.worker.kernel.NeuralKernelsTest.floats;
import static dev.tessera.worker.kernel.NeuralKernelsTest.tolerance;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.tessera.graph.DType;
import dev.tessera.graph.Tensor;
import dev.tessera.ops.LayerNorm;
import dev.tessera.ops.LayerNormGradInput;
import dev.tessera.ops.LayerNormGradWeight;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

class LayerNormKernelsTest {
    private static final double EPSILON = 1e-5;

    private static double[] asDoubles(INDArray a) {
        return a.castTo(DataType.DOUBLE).data().asDouble();
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64"})
    void shouldNormalizeEachRowAndSaveMeanAndReciprocalStd(DType dtype) {
        GraphHarness h = new GraphHarness(dtype);
        Tensor x = h.input("x", floats(dtype, new double[] {1, 2, 3, 4, -2, -2, 2, 2}, 2, 4));
        Tensor scale = h.input("scale", floats(dtype, new double[] {1, 2, 1, 1}, 4));
        Tensor bias = h.input("bias", floats(dtype, new double[] {0, 0, 0, 10}, 4));
        List<Tensor> out = h.apply(new LayerNorm(EPSILON), x, scale, bias);
        h.runAll();
        // Row 0: mean 2.5, variance 1.25. Row 1: mean 0, variance 4.
        double r0 = 1 / Math.sqrt(1.25 + EPSILON);
        double r1 = 1 / Math.sqrt(4 + EPSILON);
        double[] expected = {-1.5 * r0, -0.5 * r0 * 2, 0.5 * r0, 1.5 * r0 + 10, -2 * r1, -2 * r1 * 2, 2 * r1, 2 * r1 + 10};
        assertArrayEquals(expected, asDoubles(h.value(out.get(0))), 10 * tolerance(dtype));
        assertArrayEquals(new double[] {2.5, 0}, asDoubles(h.value(out.get(1))), tolerance(dtype));
        assertArrayEquals(new double[] {r0, r1}, asDoubles(h.value(out.get(2))), 10 * tolerance(dtype));
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64"})
    void shouldComputeSplitLayerNormGradients(DType dtype) {
        GraphHarness h = new GraphHarness(dtype);
        // One row x = [-1, 1]: mean 0, rstd 1 (epsilon taken as part of the saved rstd), xhat = [-1, 1].
        Tensor dy = h.input("dy", floats(dtype, new double[] {3, 1}, 1, 2));
        Tensor x = h.input("x", floats(dtype, new double[] {-1, 1}, 1, 2));
        Tensor scale = h.input("scale", floats(dtype, new double[] {1, 2}, 2));
        Tensor mean = h.input("mean", floats(dtype, new double[] {0}, 1));
        Tensor rstd = h.input("rstd", floats(dtype, new double[] {1}, 1));
        Tensor dx = h.apply(new LayerNormGradInput(), dy, x, scale, mean, rstd).get(0);
        List<Tensor> weights = h.apply(new LayerNormGradWeight(), dy, x, mean, rstd);
        h.runAll();
        // g = dy * scale = [3, 2]; mean(g) = 2.5; mean(g * xhat) = (-3 + 2) / 2 = -0.5.
        // dx = g - 2.5 - xhat * (-0.5) = [3 - 2.5 - 0.5, 2 - 2.5 + 0.5] = [0, 0].
        assertArrayEquals(new double[] {0, 0}, asDoubles(h.value(dx)), tolerance(dtype));
        assertArrayEquals(new double[] {-3, 1}, asDoubles(h.value(weights.get(0))), tolerance(dtype));
        assertArrayEquals(new double[] {3, 1}, asDoubles(h.value(weights.get(1))), tolerance(dtype));
    }
}
