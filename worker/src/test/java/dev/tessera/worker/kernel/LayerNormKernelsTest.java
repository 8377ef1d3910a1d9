package dev.tessera.worker.kernel;

import static dev.tessera.worker.kernel.NeuralKernelsTest.floats;
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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;
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
     * The F32 kernels compute in float vectors, as PyTorch does; on rows of 64, 256 and 67 (a
     * tail after the last whole vector) and 3 (no whole vector), over several blocks of rows,
     * they stay within twice the rounding error that float summation in 8 lanes can make, against
     * the formula in double over the same float inputs. With u = 2^-24 and k = n / 8 + 6 (the
     * terms one lane sums, plus the operations after the sum): the mean within k u mean|x|; rstd
     * within k u rstd; y within rstd |scale| e_mean + |xhat scale| (k u) + 2 u |bias|; dx
     * (computed from the saved mean and rstd, as the op's inputs) within rstd k u (|g| + |mean g|
     * + mean|g| + |xhat| (|mean(g xhat)| + mean|g xhat|)), g = dy scale. The weight gradient is
     * summed in double: within 1 ulp. A wrong term (a lost tail, a wrong epsilon, mean(g) left
     * out) is off by far more.
     */
    @ParameterizedTest
    @ValueSource(ints = {64, 256, 67, 3})
    void shouldStayWithinFloatRoundingOfTheDoubleFormulaOnWideRows(int n) {
        int rows = 2 * FloatVectors.BLOCK / n + 5;
        java.util.Random random = new java.util.Random(n);
        float[] xs = new float[rows * n];
        float[] dys = new float[rows * n];
        float[] scales = new float[n];
        float[] biases = new float[n];
        for (int i = 0; i < xs.length; i++) {
            // rows with an offset far from zero make the mean's rounding matter
            xs[i] = (float) (random.nextGaussian() * (1 + i / n % 3) + (i / n % 4) * 3);
            dys[i] = (float) random.nextGaussian();
        }
        for (int j = 0; j < n; j++) {
            scales[j] = (float) (1 + 0.5 * random.nextGaussian());
            biases[j] = (float) (0.2 * random.nextGaussian());
        }
        GraphHarness h = new GraphHarness(DType.F32);
        Tensor x = h.input("x", floats(DType.F32, widen(xs), rows, n));
        Tensor scale = h.input("scale", floats(DType.F32, widen(scales), n));
        Tensor bias = h.input("bias", floats(DType.F32, widen(biases), n));
        Tensor dy = h.input("dy", floats(DType.F32, widen(dys), rows, n));
        List<Tensor> forward = h.apply(new LayerNorm(EPSILON), x, scale, bias);
        Tensor dx = h.apply(new LayerNormGradInput(), dy, x, scale, forward.get(1), forward.get(2)).get(0);
        List<Tensor> weights = h.apply(new LayerNormGradWeight(), dy, x, forward.get(1), forward.get(2));
        h.runAll();
        float[] y = h.value(forward.get(0)).data().asFloat();
        float[] means = h.value(forward.get(1)).data().asFloat();
        float[] rstds = h.value(forward.get(2)).data().asFloat();
        float[] gradient = h.value(dx).data().asFloat();
        float[] dscale = h.value(weights.get(0)).data().asFloat();
        float[] dbias = h.value(weights.get(1)).data().asFloat();

        double u = Math.ulp(1.0f) / 2;
        double k = n / FloatVectors.LANES + 6;
        double[] expectedDscale = new double[n];
        double[] expectedDbias = new double[n];
        for (int r = 0; r < rows; r++) {
            double sum = 0;
            double sumAbs = 0;
            for (int j = 0; j < n; j++) {
                sum += xs[r * n + j];
                sumAbs += Math.abs(xs[r * n + j]);
            }
            double mean = sum / n;
            double squares = 0;
            for (int j = 0; j < n; j++) {
                double d = xs[r * n + j] - mean;
                squares += d * d;
            }
            double rstd = 1 / Math.sqrt(squares / n + EPSILON);
            double meanError = k * u * sumAbs / n;
            within("mean of row " + r, mean, means[r], meanError);
            within("rstd of row " + r, rstd, rstds[r], k * u * rstd);
            for (int j = 0; j < n; j++) {
                double xhat = (xs[r * n + j] - mean) * rstd;
                within("y[" + r + ", " + j + "]", xhat * scales[j] + biases[j], y[r * n + j], 2 * (rstd
                        * Math.abs(scales[j]) * meanError + Math.abs(xhat * scales[j]) * k * u + 2 * u * Math.abs(biases[j])));
            }
            // the backward's inputs are the saved mean and rstd
            double savedMean = means[r];
            double savedRstd = rstds[r];
            double sumG = 0;
            double sumGXhat = 0;
            double sumAbsG = 0;
            double sumAbsGXhat = 0;
            for (int j = 0; j < n; j++) {
                double g = dys[r * n + j] * (double) scales[j];
                double xhat = (xs[r * n + j] - savedMean) * savedRstd;
                sumG += g;
                sumGXhat += g * xhat;
                sumAbsG += Math.abs(g);
                sumAbsGXhat += Math.abs(g * xhat);
            }
            double meanG = sumG / n;
            double meanGXhat = sumGXhat / n;
            for (int j = 0; j < n; j++) {
                double g = dys[r * n + j] * (double) scales[j];
                double xhat = (xs[r * n + j] - savedMean) * savedRstd;
                double expected = savedRstd * (g - meanG - xhat * meanGXhat);
                double size = Math.abs(g) + Math.abs(meanG) + sumAbsG / n
                        + Math.abs(xhat) * (Math.abs(meanGXhat) + sumAbsGXhat / n);
                within("dx[" + r + ", " + j + "]", expected, gradient[r * n + j], 2 * savedRstd * k * u * size);
                expectedDscale[j] += dys[r * n + j] * ((xs[r * n + j] - savedMean) * savedRstd);
                expectedDbias[j] += dys[r * n + j];
            }
        }
        for (int j = 0; j < n; j++) {
            within("dscale[" + j + "]", expectedDscale[j], dscale[j], Math.ulp((float) expectedDscale[j]));
            within("dbias[" + j + "]", expectedDbias[j], dbias[j], Math.ulp((float) expectedDbias[j]));
        }
    }

    private static void within(String what, double expected, float actual, double bound) {
        assertTrue(Math.abs(actual - expected) <= bound, what + ": " + actual + " differs from " + expected
                + " by " + Math.abs(actual - expected) + ", more than " + bound);
    }

    private static double[] widen(float[] values) {
        double[] doubles = new double[values.length];
        for (int i = 0; i < values.length; i++) {
            doubles[i] = values[i];
        }
        return doubles;
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
