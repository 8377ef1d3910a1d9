package dev.tessera.worker.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tessera.graph.DType;
import dev.tessera.ops.MatMul;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** The batched matmul kernel (one ND4J call for all batch indices) against a plain triple loop. */
class BatchedMatMulKernelTest {

    @ParameterizedTest
    @CsvSource({"false,false", "false,true", "true,false", "true,true"})
    void shouldMatchPlainLoopsForRank4InEveryTransposeCombination(boolean transposeA, boolean transposeB) {
        int batch = 2;
        int heads = 3;
        int m = 4;
        int k = 5;
        int n = 6;
        int[] shapeA = transposeA ? new int[] {batch, heads, k, m} : new int[] {batch, heads, m, k};
        int[] shapeB = transposeB ? new int[] {batch, heads, n, k} : new int[] {batch, heads, k, n};
        INDArray a = random(shapeA, 1);
        INDArray b = random(shapeB, 2);
        INDArray c = OneOpHarness.of(new MatMul(transposeA, transposeB), DType.F64, shapeA, shapeB).run(a, b);
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
                        assertEquals(expected, c.getDouble(i, h, row, column), 1e-12,
                                "element [" + i + ", " + h + ", " + row + ", " + column + "]");
                    }
                }
            }
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
