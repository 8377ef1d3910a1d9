package dev.tessera.worker.kernel;

import static dev.tessera.worker.kernel.OneOpHarness.array;
import static dev.tessera.worker.kernel.OneOpHarness.shape;
import static dev.tessera.worker.kernel.OneOpHarness.values;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.graph.DType;
import dev.tessera.ops.Gelu;
import dev.tessera.ops.GeluGrad;
import dev.tessera.ops.Softmax;
import dev.tessera.ops.SoftmaxGrad;
import java.util.Random;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The Vector API arithmetic of the F32 kernels against double formulas computed with
 * {@code Math.exp}: e^x within 2 float ulps on its range, GELU and its derivative within
 * 1e-6 absolute (plus a few float ulps relative) through the kernels, on more than one block
 * and a length that is not a whole number of vectors.
 */
class FloatVectorsTest {
    @Test
    void shouldComputeExpWithinTwoUlps() {
        float[] x = new float[FloatVectors.LANES];
        float[] y = new float[FloatVectors.LANES];
        double worstUlps = 0;
        for (int k = 0; k <= 1_750_000; k++) {
            int lane = k % FloatVectors.LANES;
            x[lane] = -87f + k * 1e-4f;
            if (lane == FloatVectors.LANES - 1 || k == 1_750_000) {
                FloatVectors.exp(FloatVector.fromArray(FloatVectors.SPECIES, x, 0)).intoArray(y, 0);
                for (int i = 0; i <= lane; i++) {
                    double exact = Math.exp(x[i]);
                    worstUlps = Math.max(worstUlps, Math.abs(y[i] - exact) / Math.ulp((float) exact));
                }
            }
        }
        assertTrue(worstUlps <= 2, "worst error " + worstUlps + " ulps");
    }

    @Test
    void shouldGiveZeroBelowTheNormalRangeAndKeepNaN() {
        float[] x = {-87.5f, -200f, Float.NEGATIVE_INFINITY, Float.NaN, 0f, 1f, -1f, 88f};
        float[] y = new float[FloatVectors.LANES];
        FloatVectors.exp(FloatVector.fromArray(FloatVectors.SPECIES, x, 0)).intoArray(y, 0);
        assertEquals(0f, y[0]);
        assertEquals(0f, y[1]);
        assertEquals(0f, y[2]);
        assertTrue(Float.isNaN(y[3]), "e^NaN is NaN");
        assertEquals(1f, y[4]);
        assertEquals((float) Math.E, y[5], Math.ulp((float) Math.E));
        assertEquals((float) Math.exp(-1), y[6], Math.ulp((float) Math.exp(-1)));
        assertEquals((float) Math.exp(88), y[7], 2 * Math.ulp((float) Math.exp(88)));
    }

    @Test
    void shouldComputeGeluAndItsGradientInFloatWithinOneMillionthOfTheDoubleFormula() {
        int n = 2 * FloatVectors.BLOCK + 5;
        double[] x = new double[n];
        double[] dy = new double[n];
        Random random = new Random(7);
        for (int i = 0; i < n; i++) {
            x[i] = (float) (random.nextGaussian() * 4);
            dy[i] = (float) (random.nextGaussian());
        }
        x[0] = -30;
        x[1] = 30;
        x[2] = 0;
        INDArray xs = array(DType.F32, shape(n), x);
        INDArray value = OneOpHarness.of(new Gelu(), DType.F32, shape(n)).run(xs);
        INDArray gradient = OneOpHarness.of(new GeluGrad(), DType.F32, shape(n), shape(n))
                .run(array(DType.F32, shape(n), dy), xs);
        double[] y = values(value);
        double[] d = values(gradient);
        for (int i = 0; i < n; i++) {
            double expected = Gelu.value(x[i]);
            assertEquals(expected, y[i], 1e-6 + 4 * Math.ulp((float) expected), "gelu(" + x[i] + ")");
            double expectedGradient = dy[i] * GeluGrad.derivative(x[i]);
            assertEquals(expectedGradient, d[i], 1e-6 + 4 * Math.ulp((float) expectedGradient),
                    "gelu'(" + x[i] + ") * " + dy[i]);
        }
        assertEquals(0.0, y[2], 0, "gelu(0) is 0");
        assertEquals(30.0, y[1], 0, "gelu(30) is 30 in float");
    }

    /** Rows of 3, 12 and 130 (not whole vectors), causal or not, over more rows than one block holds. */
    @ParameterizedTest
    @CsvSource({"12, false", "12, true", "130, false", "130, true", "3, true"})
    void shouldComputeSoftmaxAndItsGradientInFloatLikeTheDoubleFormula(int cols, boolean causal) {
        int groups = 2 * FloatVectors.BLOCK / (cols * cols) + 2;
        int rows = groups * cols;
        int[] shape = shape(groups, cols, cols);
        double scale = 0.35;
        double[] x = new double[rows * cols];
        double[] dy = new double[rows * cols];
        Random random = new Random(cols);
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (random.nextGaussian() * 5);
            dy[i] = (float) random.nextGaussian();
        }
        INDArray y = OneOpHarness.of(new Softmax(causal, scale), DType.F32, shape)
                .run(array(DType.F32, shape, x));
        double[] probabilities = values(y);
        double[] dx = values(OneOpHarness.of(new SoftmaxGrad(scale), DType.F32, shape, shape)
                .run(array(DType.F32, shape, dy), y));
        for (int r = 0; r < rows; r++) {
            int visible = causal ? r % cols + 1 : cols;
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < visible; j++) {
                max = Math.max(max, x[r * cols + j]);
            }
            double sum = 0;
            for (int j = 0; j < visible; j++) {
                sum += Math.exp(scale * (x[r * cols + j] - max));
            }
            double dot = 0;
            for (int j = 0; j < cols; j++) {
                dot += dy[r * cols + j] * probabilities[r * cols + j];
            }
            for (int j = 0; j < cols; j++) {
                int i = r * cols + j;
                double expected = j < visible ? Math.exp(scale * (x[i] - max)) / sum : 0;
                assertEquals(expected, probabilities[i], 1e-7 + 4 * Math.ulp((float) expected), "row " + r + ", column " + j);
                double expectedGradient = scale * probabilities[i] * (dy[i] - dot);
                assertEquals(expectedGradient, dx[i], 1e-7 + 4 * Math.ulp((float) expectedGradient),
                        "gradient at row " + r + ", column " + j);
            }
        }
    }
}
