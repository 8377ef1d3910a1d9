package dev.tessera.worker.kernel;

import static dev.tessera.worker.kernel.NeuralKernelsTest.floats;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.graph.DType;
import dev.tessera.graph.Shape;
import dev.tessera.graph.Tensor;
import dev.tessera.ops.LayerNorm;
import dev.tessera.ops.LayerNormGradInput;
import dev.tessera.ops.LayerNormGradWeight;
import dev.tessera.tensor.HostTensor;
import dev.tessera.tensor.Tolerance;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Layer norm's kernels against the textbook formulas in plain double, written here: the forward
 * from the definition, the input gradient as the full Jacobian product
 * {@code dx_i = sum_j g_j * dxhat_j/dx_i} (the kernel uses a factored form), on rows whose
 * values, scales and incoming gradients are all different, so no term vanishes by symmetry.
 */
class LayerNormKernelsTest {
    private static final double EPSILON = 1e-5;
    private static final int ROWS = 3;
    private static final int N = 5;
    private static final double[] X = {
        0.3, -1.2, 2.5, 0.7, -0.4,
        5.0, 4.1, 6.3, 5.9, 3.2,
        -0.05, 0.02, 0.11, -0.08, 0.01};
    private static final double[] SCALE = {0.8, 1.5, -0.6, 1.1, 0.3};
    private static final double[] BIAS = {0.1, -0.2, 0.3, 0.0, 0.5};
    private static final double[] DY = {
        1.0, -0.5, 0.25, 2.0, -1.5,
        0.3, 0.9, -1.1, 0.4, 0.2,
        -2.0, 1.3, 0.6, -0.7, 0.8};

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64"})
    void shouldNormalizeEachRowAndSaveMeanAndReciprocalStd(DType dtype) {
        GraphHarness h = new GraphHarness(dtype);
        Tensor x = h.input("x", floats(dtype, X, ROWS, N));
        Tensor scale = h.input("scale", floats(dtype, SCALE, N));
        Tensor bias = h.input("bias", floats(dtype, BIAS, N));
        List<Tensor> out = h.apply(new LayerNorm(EPSILON), x, scale, bias);
        h.runAll();
        double[] y = new double[ROWS * N];
        for (int r = 0; r < ROWS; r++) {
            for (int j = 0; j < N; j++) {
                y[r * N + j] = xhat(r, j) * SCALE[j] + BIAS[j];
            }
        }
        Tolerance tolerance = Tolerance.of(dtype);
        tolerance.requireClose("y", tensor(y, ROWS, N), host(h.value(out.get(0))));
        tolerance.requireClose("mean", tensor(new double[] {mean(0), mean(1), mean(2)}, ROWS),
                host(h.value(out.get(1))));
        tolerance.requireClose("rstd", tensor(new double[] {rstd(0), rstd(1), rstd(2)}, ROWS),
                host(h.value(out.get(2))));
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64"})
    void shouldComputeSplitLayerNormGradients(DType dtype) {
        GraphHarness h = new GraphHarness(dtype);
        Tensor dy = h.input("dy", floats(dtype, DY, ROWS, N));
        Tensor x = h.input("x", floats(dtype, X, ROWS, N));
        Tensor scale = h.input("scale", floats(dtype, SCALE, N));
        Tensor mean = h.input("mean", floats(dtype, new double[] {mean(0), mean(1), mean(2)}, ROWS));
        Tensor rstd = h.input("rstd", floats(dtype, new double[] {rstd(0), rstd(1), rstd(2)}, ROWS));
        Tensor dx = h.apply(new LayerNormGradInput(), dy, x, scale, mean, rstd).get(0);
        List<Tensor> weights = h.apply(new LayerNormGradWeight(), dy, x, mean, rstd);
        h.runAll();

        double[] expectedDx = new double[ROWS * N];
        double[] expectedDscale = new double[N];
        double[] expectedDbias = new double[N];
        for (int r = 0; r < ROWS; r++) {
            for (int i = 0; i < N; i++) {
                double sum = 0;
                for (int j = 0; j < N; j++) {
                    // d xhat_j / d x_i = rstd * (delta_ij - 1/n) - xhat_j * xhat_i * rstd / n
                    double jacobian = rstd(r) * ((i == j ? 1 : 0) - 1.0 / N) - xhat(r, j) * xhat(r, i) * rstd(r) / N;
                    sum += DY[r * N + j] * SCALE[j] * jacobian;
                }
                expectedDx[r * N + i] = sum;
                expectedDscale[i] += DY[r * N + i] * xhat(r, i);
                expectedDbias[i] += DY[r * N + i];
            }
        }
        double largest = 0;
        for (double v : expectedDx) {
            largest = Math.max(largest, Math.abs(v));
        }
        assertTrue(largest > 0.5, "the input gradient must not vanish, or the check proves nothing");
        Tolerance tolerance = Tolerance.of(dtype);
        tolerance.requireClose("dx", tensor(expectedDx, ROWS, N), host(h.value(dx)));
        tolerance.requireClose("dscale", tensor(expectedDscale, N), host(h.value(weights.get(0))));
        tolerance.requireClose("dbias", tensor(expectedDbias, N), host(h.value(weights.get(1))));
    }

    /**
     * The F32 kernels copy rows into Java arrays; they must still give exactly the floats of the
     * double arithmetic written out here over the same float inputs, in the same order.
     */
    @Test
    void shouldGiveTheFloatsOfTheDoubleFormulaOnF32Rows() {
        GraphHarness h = new GraphHarness(DType.F32);
        Tensor x = h.input("x", floats(DType.F32, X, ROWS, N));
        Tensor scale = h.input("scale", floats(DType.F32, SCALE, N));
        Tensor bias = h.input("bias", floats(DType.F32, BIAS, N));
        Tensor dy = h.input("dy", floats(DType.F32, DY, ROWS, N));
        List<Tensor> forward = h.apply(new LayerNorm(EPSILON), x, scale, bias);
        Tensor dx = h.apply(new LayerNormGradInput(), dy, x, scale, forward.get(1), forward.get(2)).get(0);
        h.runAll();

        float[] xs = rounded(X);
        float[] scales = rounded(SCALE);
        float[] biases = rounded(BIAS);
        float[] dys = rounded(DY);
        float[] y = new float[ROWS * N];
        float[] means = new float[ROWS];
        float[] rstds = new float[ROWS];
        float[] gradient = new float[ROWS * N];
        for (int r = 0; r < ROWS; r++) {
            double sum = 0;
            for (int j = 0; j < N; j++) {
                sum += xs[r * N + j];
            }
            double mean = sum / N;
            double squares = 0;
            for (int j = 0; j < N; j++) {
                double d = xs[r * N + j] - mean;
                squares += d * d;
            }
            double rstd = 1.0 / Math.sqrt(squares / N + EPSILON);
            for (int j = 0; j < N; j++) {
                y[r * N + j] = (float) ((xs[r * N + j] - mean) * rstd * scales[j] + biases[j]);
            }
            means[r] = (float) mean;
            rstds[r] = (float) rstd;
            double savedMean = means[r];
            double savedRstd = rstds[r];
            double sumG = 0;
            double sumGXhat = 0;
            for (int j = 0; j < N; j++) {
                double g = dys[r * N + j] * (double) scales[j];
                sumG += g;
                sumGXhat += g * (xs[r * N + j] - savedMean) * savedRstd;
            }
            for (int j = 0; j < N; j++) {
                double g = dys[r * N + j] * (double) scales[j];
                double xhat = (xs[r * N + j] - savedMean) * savedRstd;
                gradient[r * N + j] = (float) (savedRstd * (g - sumG / N - xhat * (sumGXhat / N)));
            }
        }
        assertArrayEquals(y, h.value(forward.get(0)).data().asFloat());
        assertArrayEquals(means, h.value(forward.get(1)).data().asFloat());
        assertArrayEquals(rstds, h.value(forward.get(2)).data().asFloat());
        assertArrayEquals(gradient, h.value(dx).data().asFloat());
    }

    private static float[] rounded(double[] values) {
        float[] floats = new float[values.length];
        for (int i = 0; i < values.length; i++) {
            floats[i] = (float) values[i];
        }
        return floats;
    }

    private static double mean(int row) {
        double sum = 0;
        for (int j = 0; j < N; j++) {
            sum += X[row * N + j];
        }
        return sum / N;
    }

    private static double rstd(int row) {
        double squares = 0;
        for (int j = 0; j < N; j++) {
            double d = X[row * N + j] - mean(row);
            squares += d * d;
        }
        return 1 / Math.sqrt(squares / N + EPSILON);
    }

    private static double xhat(int row, int j) {
        return (X[row * N + j] - mean(row)) * rstd(row);
    }

    private static HostTensor tensor(double[] values, int... shape) {
        return HostTensor.ofDoubles(Shape.of(shape), values);
    }

    private static HostTensor host(INDArray a) {
        long[] shape = a.shape();
        int[] dims = new int[shape.length];
        for (int i = 0; i < dims.length; i++) {
            dims[i] = (int) shape[i];
        }
        return tensor(a.dup('c').castTo(DataType.DOUBLE).data().asDouble(), dims);
    }
}
