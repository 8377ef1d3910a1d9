package dev.tessera.worker.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.graph.DType;
import dev.tessera.ops.MatMul;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The batched matmul kernel (one BLAS gemm per matrix on the CPU backend) against a plain triple
 * loop in double: atol 1e-12 for F64, 1e-5 for F32 (k = 5 products of numbers in [-1, 1], each
 * rounded to F32 once and summed in F32).
 */
class BatchedMatMulKernelTest {

    @ParameterizedTest
    @CsvSource({"F64,false,false", "F64,false,true", "F64,true,false", "F64,true,true",
            "F32,false,false", "F32,false,true", "F32,true,false", "F32,true,true"})
    void shouldMatchPlainLoopsForRank4InEveryTransposeCombination(DType dtype, boolean transposeA, boolean transposeB) {
        int batch = 2;
        int heads = 3;
        int m = 4;
        int k = 5;
        int n = 6;
        int[] shapeA = transposeA ? new int[] {batch, heads, k, m} : new int[] {batch, heads, m, k};
        int[] shapeB = transposeB ? new int[] {batch, heads, n, k} : new int[] {batch, heads, k, n};
        DataType type = dtype == DType.F64 ? DataType.DOUBLE : DataType.FLOAT;
        INDArray a = random(shapeA, 1).castTo(type);
        INDArray b = random(shapeB, 2).castTo(type);
        INDArray c = OneOpHarness.of(new MatMul(transposeA, transposeB), dtype, shapeA, shapeB).run(a, b);
        double tolerance = dtype == DType.F64 ? 1e-12 : 1e-5;
        for (int i = 0; i < batch; i++) {
            for (int h = 0; h < heads; h++) {
                for (int row = 0; row < m; row++) {
                    for (int column = 0; column < n; column++) {
                        double expected = 0;
                        for (int j = 0; j < k; j++) {
                            double x = transposeA ? a.getDouble(i, h, j, row) : a.getDouble(i, h, row, j);
                            double y = transposeB ? b.getDouble(i, h, column, j) : b.getDouble(i, h, j, column);
                            expected += x * y;
                        }
                        assertEquals(expected, c.getDouble(i, h, row, column), tolerance,
                                "element [" + i + ", " + h + ", " + row + ", " + column + "]");
                    }
                }
            }
        }
    }

    @Test
    void shouldReadAndWriteContiguousViewsAtAnOffset() {
        INDArray wholeA = random(new int[] {3, 2, 4, 5}, 3).castTo(DataType.FLOAT);
        INDArray wholeB = random(new int[] {3, 2, 5, 6}, 4).castTo(DataType.FLOAT);
        INDArray wholeC = Nd4j.create(DataType.FLOAT, 3, 2, 4, 6);
        INDArray a = wholeA.get(NDArrayIndex.interval(1, 3), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all());
        INDArray b = wholeB.get(NDArrayIndex.interval(1, 3), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all());
        INDArray c = wholeC.get(NDArrayIndex.interval(1, 3), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all());
        assertTrue(a.offset() > 0 && RawBuffers.contiguous(a) && RawBuffers.contiguous(c), "the test needs offset views");
        RowMajorGemm.run(a, b, c, false, false);
        INDArray expected = Nd4j.matmul(a.dup(), b.dup());
        for (long i = 0; i < c.length(); i++) {
            assertEquals(expected.getDouble(i), c.dup().getDouble(i), 1e-5, "element " + i);
        }
        for (long i = 0; i < 2 * 4 * 6; i++) {
            assertEquals(0.0, wholeC.getDouble(i), "element " + i + " before the view");
        }
    }

    private static INDArray random(int[] shape, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        long[] dims = new long[shape.length];
        int size = 1;
        for (int i = 0; i < shape.length; i++) {
            dims[i] = shape[i];
            size *= shape[i];
        }
        double[] values = new double[size];
        for (int i = 0; i < size; i++) {
            values[i] = 2 * random.nextDouble() - 1;
        }
        return Nd4j.createFromArray(values).reshape('c', dims).castTo(DataType.DOUBLE);
    }
}
