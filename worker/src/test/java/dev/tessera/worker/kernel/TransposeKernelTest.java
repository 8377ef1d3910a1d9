package dev.tessera.worker.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tessera.graph.DType;
import dev.tessera.ops.Transpose;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class TransposeKernelTest {
    static Stream<Arguments> permutations() {
        return Stream.of(
                // gpt's head split and merge: the last axis moves as blocks of 32 and 16 elements
                Arguments.of(new int[] {3, 5, 4, 32}, new int[] {0, 2, 1, 3}),
                Arguments.of(new int[] {2, 4, 7, 16}, new int[] {0, 2, 1, 3}),
                // two trailing axes in place (one block of 3 x 8), three outer axes cycled
                Arguments.of(new int[] {2, 3, 4, 3, 8}, new int[] {2, 0, 1, 3, 4}),
                // blocks shorter than MIN_BLOCK, and no trailing axis in place: ND4J's assign
                Arguments.of(new int[] {6, 5, 4}, new int[] {1, 0, 2}),
                Arguments.of(new int[] {9, 10}, new int[] {1, 0}),
                Arguments.of(new int[] {3, 4, 5, 9}, new int[] {3, 1, 2, 0}),
                // the identity: one block
                Arguments.of(new int[] {4, 3, 10}, new int[] {0, 1, 2}));
    }

    @ParameterizedTest
    @MethodSource("permutations")
    void shouldMoveEveryElementWhereNd4jsPermuteDoes(int[] shape, int[] permutation) {
        long[] dims = new long[shape.length];
        for (int i = 0; i < shape.length; i++) {
            dims[i] = shape[i];
        }
        for (DType dtype : new DType[] {DType.F32, DType.F64}) {
            INDArray x = Nd4j.rand(OneOpHarness.nd4j(dtype), dims);
            INDArray expected = x.permute(permutation).dup('c');

            INDArray y = OneOpHarness.of(new Transpose(permutation), dtype, shape).run(x);

            assertEquals(expected.shapeInfoToString(), y.shapeInfoToString());
            assertArrayEquals(expected.data().asDouble(), y.data().asDouble(),
                    dtype + " " + java.util.Arrays.toString(permutation)); // bit for bit: a copy
        }
    }

    @ParameterizedTest
    @MethodSource("permutations")
    void shouldReadAViewAtAnOffset(int[] shape, int[] permutation) {
        long[] dims = new long[shape.length + 1];
        dims[0] = 2;
        for (int i = 0; i < shape.length; i++) {
            dims[i + 1] = shape[i];
        }
        INDArray whole = Nd4j.rand(DataType.FLOAT, dims);
        INDArray second = whole.slice(1); // a contiguous view starting past element 0

        INDArray y = OneOpHarness.of(new Transpose(permutation), DType.F32, shape).run(second);

        assertArrayEquals(second.permute(permutation).dup('c').data().asDouble(), y.data().asDouble());
    }
}
