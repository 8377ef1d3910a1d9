package dev.tessera.worker.kernel;

import dev.tessera.graph.DType;
import org.nd4j.linalg.api.buffer.DataBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.Shape;

/**
 * Flat, row-major element access for kernels that loop in plain Java: one pass over a buffer is
 * cheaper than the several ND4J calls (10-30 us each) that the same row-wise math would take.
 * Element i of the returned {@link DataBuffer} is element i of the array in C order.
 */
final class Dense {
    private Dense() {
    }

    /** The ND4J element type of a Tessera dtype. */
    static DataType dataType(DType dtype) {
        return switch (dtype) {
            case F32 -> DataType.FLOAT;
            case F64 -> DataType.DOUBLE;
            case I32 -> DataType.INT;
        };
    }

    /** Whether the array's memory is exactly its elements in C order, starting at index 0. */
    static boolean isDense(INDArray a) {
        return a.ordering() == 'c' && a.offset() == 0 && a.data().length() == a.length()
                && Shape.hasDefaultStridesForShape(a);
    }

    /** The buffer of an input: the array's own when dense, else a dense copy. */
    static DataBuffer read(INDArray a) {
        return (isDense(a) ? a : a.dup('c')).data();
    }

    /**
     * An array to write an output into: the output itself when dense, else a dense scratch array
     * that {@link #commit} copies back.
     */
    static INDArray writable(INDArray out) {
        return isDense(out) ? out : out.dup('c');
    }

    /** Copies a scratch array from {@link #writable} back into the output; nothing when they are the same. */
    static void commit(INDArray out, INDArray written) {
        if (written != out) {
            out.assign(written);
        }
    }
}
