package dev.tessera.worker.kernel;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.Shape;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Access to the raw C-ordered buffer behind an array, for kernels that loop over elements in Java
 * (math with no single ND4J op, where a chain of ND4J calls would cost more than one pass).
 * Element i of a contiguous array is element {@code offset() + i} of {@code data().asNioFloat()}
 * or {@code asNioDouble()}. Executor registers are always contiguous; anything else (a strided
 * view) goes through a copy, so the loops stay correct for any input.
 */
final class RawBuffers {
    private RawBuffers() {
    }

    /** Whether element i of {@code a} in C order is raw element {@code a.offset() + i}. */
    static boolean contiguous(INDArray a) {
        return (a.ordering() == 'c' || a.rank() <= 1) && Shape.hasDefaultStridesForShape(a);
    }

    /** {@code a} itself when contiguous, else a contiguous copy to read from. */
    static INDArray readable(INDArray a) {
        return contiguous(a) ? a : a.dup('c');
    }

    /** {@code out} itself when contiguous, else a contiguous buffer to write into and then {@link #commit}. */
    static INDArray writable(INDArray out) {
        return contiguous(out) ? out : Nd4j.createUninitialized(out.dataType(), out.shape(), 'c');
    }

    /** Copies what was written into {@code written} to {@code out} if they differ. */
    static void commit(INDArray written, INDArray out) {
        if (written != out) {
            out.assign(written);
        }
    }

    /** The raw index of element 0, checked to fit an int (NIO buffers are int-indexed). */
    static int offset(INDArray a) {
        return Math.toIntExact(a.offset());
    }
}
