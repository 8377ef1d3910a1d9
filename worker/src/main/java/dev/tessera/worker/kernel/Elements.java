package dev.tessera.worker.kernel;

import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Element i (in C order) of a contiguous F32, F64 or I32 array, read and written as a double
 * over the NIO view of its raw buffer (see {@link RawBuffers}). Row-wise kernels are written
 * once for both float types and compute in double; F32 results are rounded once, on write.
 */
abstract sealed class Elements permits Elements.Floats, Elements.Doubles, Elements.Ints {
    final int offset;

    private Elements(INDArray contiguous) {
        this.offset = RawBuffers.offset(contiguous);
        // Checked once here so that the int casts of get/set below cannot overflow.
        Math.toIntExact(offset + contiguous.length());
    }

    /** The elements of {@code a}, or of a contiguous copy when {@code a} is a strided view: for inputs. */
    static Elements read(INDArray a) {
        return of(RawBuffers.readable(a));
    }

    /** The elements of an array that {@link RawBuffers#contiguous} accepts, e.g. one from {@link RawBuffers#writable}. */
    static Elements of(INDArray contiguous) {
        return switch (contiguous.dataType()) {
            case FLOAT -> new Floats(contiguous);
            case DOUBLE -> new Doubles(contiguous);
            case INT -> new Ints(contiguous);
            default -> throw new IllegalArgumentException(
                    "kernels loop over F32, F64 and I32 buffers only, got " + contiguous.dataType());
        };
    }

    abstract double get(long i);

    abstract void set(long i, double value);

    /** Element i of an I32 array (labels, token ids). */
    int integer(long i) {
        return (int) get(i);
    }

    static final class Floats extends Elements {
        private final FloatBuffer buffer;

        Floats(INDArray a) {
            super(a);
            buffer = a.data().asNioFloat();
        }

        @Override
        double get(long i) {
            return buffer.get(offset + (int) i);
        }

        @Override
        void set(long i, double value) {
            buffer.put(offset + (int) i, (float) value);
        }
    }

    static final class Doubles extends Elements {
        private final DoubleBuffer buffer;

        Doubles(INDArray a) {
            super(a);
            buffer = a.data().asNioDouble();
        }

        @Override
        double get(long i) {
            return buffer.get(offset + (int) i);
        }

        @Override
        void set(long i, double value) {
            buffer.put(offset + (int) i, value);
        }
    }

    static final class Ints extends Elements {
        private final IntBuffer buffer;

        Ints(INDArray a) {
            super(a);
            buffer = a.data().asNioInt();
        }

        @Override
        double get(long i) {
            return buffer.get(offset + (int) i);
        }

        @Override
        void set(long i, double value) {
            buffer.put(offset + (int) i, (int) value);
        }

        @Override
        int integer(long i) {
            return buffer.get(offset + (int) i);
        }
    }
}
