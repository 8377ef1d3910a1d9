package dev.tessera.worker.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.graph.DType;
import dev.tessera.graph.Tensor;
import dev.tessera.ops.Embedding;
import dev.tessera.ops.EmbeddingGrad;
import dev.tessera.ops.Softmax;
import dev.tessera.ops.SoftmaxGrad;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

class NeuralKernelsTest {

    static INDArray floats(DType dtype, double[] data, long... shape) {
        return Nd4j.createFromArray(data).castTo(OneOpHarness.nd4j(dtype)).reshape('c', shape);
    }

    static double tolerance(DType dtype) {
        return dtype == DType.F32 ? 1e-6 : 1e-12;
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64"})
    void shouldComputeStableSoftmaxOverLastAxis(DType dtype) {
        GraphHarness h = new GraphHarness(dtype);
        Tensor x = h.input("x", floats(dtype, new double[] {1, 2, 3, 1000, 1000, 1000}, 2, 3));
        Tensor y = h.builder.softmax(x);
        h.runAll();
        double sum = Math.exp(1) + Math.exp(2) + Math.exp(3);
        double[] expected = {Math.exp(1) / sum, Math.exp(2) / sum, Math.exp(3) / sum, 1.0 / 3, 1.0 / 3, 1.0 / 3};
        assertArrayEquals(expected, h.value(y).castTo(DataType.DOUBLE).data().asDouble(), tolerance(dtype));
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64"})
    void shouldGiveExactZerosAboveTheDiagonalOfACausalSoftmax(DType dtype) {
        GraphHarness h = new GraphHarness(dtype);
        // [2, 3, 3]: two blocks, so the mask must repeat per block.
        double[] scores = {5, 9, 9, 1, 1, 9, 0, 1, 2, 3, -7, 4, 2, 2, 8, 0, 0, 0};
        Tensor x = h.input("x", floats(dtype, scores, 2, 3, 3));
        Tensor y = h.apply(new Softmax(true, 0.5), x).get(0);
        h.runAll();
        double[] out = h.value(y).castTo(DataType.DOUBLE).data().asDouble();
        for (int block = 0; block < 2; block++) {
            for (int i = 0; i < 3; i++) {
                double sum = 0;
                for (int j = 0; j <= i; j++) {
                    sum += Math.exp(0.5 * scores[block * 9 + i * 3 + j]);
                }
                for (int j = 0; j < 3; j++) {
                    int e = block * 9 + i * 3 + j;
                    if (j > i) {
                        assertEquals(0.0, out[e], 0.0, "masked entry (" + block + ", " + i + ", " + j + ")");
                    } else {
                        assertEquals(Math.exp(0.5 * scores[e]) / sum, out[e], tolerance(dtype));
                    }
                }
            }
        }
        assertEquals(1.0, out[0], 0.0, "row 0 of a causal softmax sees only itself");
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64"})
    void shouldComputeSoftmaxGradientFromOutput(DType dtype) {
        GraphHarness h = new GraphHarness(dtype);
        Tensor dy = h.input("dy", floats(dtype, new double[] {1, 0, 2, 2}, 2, 2));
        Tensor y = h.input("y", floats(dtype, new double[] {0.5, 0.5, 0.25, 0.75}, 2, 2));
        Tensor dx = h.apply(new SoftmaxGrad(2.0), dy, y).get(0);
        h.runAll();
        // Row 0: dot = 0.5, dx = 2 * y * (dy - 0.5). Row 1: dy is constant, so dx = 0.
        assertArrayEquals(new double[] {0.5, -0.5, 0, 0}, h.value(dx).castTo(DataType.DOUBLE).data().asDouble(),
                tolerance(dtype));
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64"})
    void shouldLookUpEmbeddingRows(DType dtype) {
        GraphHarness h = new GraphHarness(dtype);
        Tensor table = h.input("table", floats(dtype, new double[] {0, 1, 10, 11, 20, 21}, 3, 2));
        Tensor ids = h.input("ids", Nd4j.createFromArray(new int[][] {{2, 0}, {2, 1}}));
        Tensor y = h.apply(new Embedding(), table, ids).get(0);
        h.runAll();
        assertArrayEquals(new long[] {2, 2, 2}, h.value(y).shape());
        assertArrayEquals(new double[] {20, 21, 0, 1, 20, 21, 10, 11},
                h.value(y).castTo(DataType.DOUBLE).data().asDouble(), 0.0);
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64"})
    void shouldScatterAddEmbeddingGradientOfRepeatedIds(DType dtype) {
        GraphHarness h = new GraphHarness(dtype);
        Tensor dy = h.input("dy", floats(dtype, new double[] {1, 2, 3, 4, 5, 6}, 3, 2));
        Tensor ids = h.input("ids", Nd4j.createFromArray(new int[] {3, 0, 3}));
        Tensor grad = h.apply(new EmbeddingGrad(4), dy, ids).get(0);
        h.runAll();
        assertArrayEquals(new double[] {3, 4, 0, 0, 0, 0, 6, 8},
                h.value(grad).castTo(DataType.DOUBLE).data().asDouble(), 0.0);
    }

    @Test
    void shouldNameOpAndIdWhenEmbeddingIdIsOutsideVocabulary() {
        GraphHarness h = new GraphHarness(DType.F32);
        Tensor ids = h.input("ids", Nd4j.createFromArray(new int[] {1, 7}));
        h.builder.embedding("tokens", ids, 3, 2);
        h.set(h.builder.build().parameters().get(0), Nd4j.zeros(DataType.FLOAT, 3, 2));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, h::runAll);
        assertTrue(e.getMessage().contains("'tokens.embedding'") && e.getMessage().contains("id 7")
                && e.getMessage().contains("[0, 3)"), e.getMessage());
    }

    /** Executor registers are contiguous, but a view with an offset or strides must still read right. */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64"})
    void shouldReadOffsetAndStridedViews(DType dtype) {
        INDArray storage = floats(dtype, new double[] {9, 9, 9, 1, 2, 3, 1, 1, 1}, 3, 3);
        INDArray offsetRow = storage.get(NDArrayIndex.interval(1, 3), NDArrayIndex.all());
        INDArray strided = floats(dtype, new double[] {1, 1, 2, 1, 3, 1}, 3, 2).transpose();
        OneOpHarness softmax = OneOpHarness.of(new Softmax(false), dtype, OneOpHarness.shape(2, 3));
        double sum = Math.exp(1) + Math.exp(2) + Math.exp(3);
        double[] row = {Math.exp(1) / sum, Math.exp(2) / sum, Math.exp(3) / sum};
        for (INDArray view : new INDArray[] {offsetRow, strided}) {
            assertTrue(view.isView() && (view.offset() > 0 || !RawBuffers.contiguous(view)), "test needs a real view");
            INDArray out = softmax.run(view);
            assertArrayEquals(row, out.getRow(0).castTo(DataType.DOUBLE).toDoubleVector(), tolerance(dtype), view.toString());
            assertArrayEquals(new double[] {1.0 / 3, 1.0 / 3, 1.0 / 3}, out.getRow(1).castTo(DataType.DOUBLE).toDoubleVector(),
                    tolerance(dtype));
        }
    }
}
