package dev.tessera.worker.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.scalar.RectifiedLinear;
import org.nd4j.linalg.api.ops.impl.scalar.RectifiedLinearDerivative;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Each Java loop of {@link FloatLoops} against the ND4J op it replaced, element by element and
 * bit for bit (atol 0, rtol 0): both round once per F32 operation. Sizes are not multiples of
 * anything, span more than two of the loops' copy blocks, and one input of each case is a
 * contiguous view at a non-zero offset.
 */
class FloatLoopsTest {
    private static final int ROWS = 301;
    private static final int COLUMNS = 29;

    private static INDArray random(long seed, long... shape) {
        SplittableRandom random = new SplittableRandom(seed);
        INDArray a = Nd4j.create(DataType.FLOAT, shape);
        for (long i = 0; i < a.length(); i++) {
            // a few exact zeros, so relu and its gradient see the boundary
            a.putScalar(i, random.nextInt(10) == 0 ? 0.0 : random.nextDouble(-3, 3));
        }
        return a;
    }

    /** Rows 1.. of a [ROWS + 1, COLUMNS] matrix: contiguous, starting at offset COLUMNS. */
    private static INDArray offsetView(long seed) {
        INDArray whole = random(seed, ROWS + 1, COLUMNS);
        INDArray view = whole.get(NDArrayIndex.interval(1, ROWS + 1), NDArrayIndex.all());
        assertTrue(RawBuffers.contiguous(view) && view.offset() > 0, "the test needs an offset contiguous view");
        return view;
    }

    private static void assertBitwiseEqual(INDArray expected, INDArray actual) {
        assertEquals(expected.length(), actual.length());
        for (long i = 0; i < expected.length(); i++) {
            int e = Float.floatToRawIntBits(expected.getFloat(i));
            int a = Float.floatToRawIntBits(actual.getFloat(i));
            if (e != a && !(Float.isNaN(expected.getFloat(i)) && Float.isNaN(actual.getFloat(i)))) {
                assertEquals(expected.getFloat(i), actual.getFloat(i), 0.0f, "element " + i);
            }
        }
    }

    @Test
    void shouldAddAsNd4jDoes() {
        INDArray a = offsetView(1);
        INDArray b = random(2, ROWS, COLUMNS);
        INDArray out = Nd4j.create(DataType.FLOAT, ROWS, COLUMNS);
        FloatLoops.add(a, b, out);
        assertBitwiseEqual(a.add(b), out);
        INDArray expected = a.add(b);
        FloatLoops.add(a, b, a);
        assertBitwiseEqual(expected, a);
    }

    @Test
    void shouldScaleAsNd4jDoes() {
        INDArray a = offsetView(3);
        INDArray expected = a.dup().muli(0.3712345678);
        FloatLoops.scale(a, 0.3712345678);
        assertBitwiseEqual(expected, a);
    }

    @Test
    void shouldAddBiasToEveryRowAsNd4jDoes() {
        INDArray x = offsetView(4);
        INDArray bias = random(5, COLUMNS);
        INDArray out = Nd4j.create(DataType.FLOAT, ROWS, COLUMNS);
        FloatLoops.biasAdd(x, bias, out);
        assertBitwiseEqual(x.dup().addiRowVector(bias), out);
    }

    @Test
    void shouldApplyReluAndItsGradientAsNd4jDoes() {
        INDArray x = offsetView(6);
        INDArray dy = random(7, ROWS, COLUMNS);
        INDArray expected = Nd4j.create(DataType.FLOAT, ROWS, COLUMNS);
        Nd4j.getExecutioner().exec(new RectifiedLinear(x, expected, 0.0));
        INDArray out = Nd4j.create(DataType.FLOAT, ROWS, COLUMNS);
        FloatLoops.relu(x, out);
        assertBitwiseEqual(expected, out);
        Nd4j.getExecutioner().exec(new RectifiedLinearDerivative(x, dy, expected));
        FloatLoops.reluGrad(dy, x, out);
        assertBitwiseEqual(expected, out);
    }

    @Test
    void shouldKeepNanThroughRelu() {
        INDArray x = Nd4j.createFromArray(Float.NaN, -1f, 2f);
        INDArray out = Nd4j.create(DataType.FLOAT, 3);
        FloatLoops.relu(x, out);
        assertTrue(Float.isNaN(out.getFloat(0)));
        assertEquals(0f, out.getFloat(1));
        assertEquals(2f, out.getFloat(2));
    }

    @Test
    void shouldRefuseDoublesAndStridedViews() {
        assertFalse(FloatLoops.applies(Nd4j.create(DataType.DOUBLE, 3)));
        assertFalse(FloatLoops.applies(Nd4j.create(DataType.FLOAT, 4, 5).transpose()));
        assertTrue(FloatLoops.applies(Nd4j.create(DataType.FLOAT, 4, 5)));
    }

    /** Not bit for bit: the loop sums in double and rounds once, so it is the exact sum rounded (checked against a sum in double). */
    @Test
    void shouldSumColumnsAsTheRoundedDoubleSum() {
        INDArray x = offsetView(9);
        INDArray out = Nd4j.create(DataType.FLOAT, COLUMNS);
        FloatLoops.columnSums(x, out, new double[COLUMNS]);
        for (int j = 0; j < COLUMNS; j++) {
            double sum = 0;
            for (int r = 0; r < ROWS; r++) {
                sum += x.getFloat(r, j);
            }
            assertEquals((float) sum, out.getFloat(j), 0.0f, "column " + j);
            assertEquals(x.sum(0).getDouble(j), out.getFloat(j), 1e-5 * (1 + Math.abs(sum)), "column " + j + " against ND4J");
        }
    }
}
