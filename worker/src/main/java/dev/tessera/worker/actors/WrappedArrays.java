package dev.tessera.worker.actors;

import dev.tessera.runtime.transport.ElementType;
import dev.tessera.runtime.transport.TensorBuffer;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * ND4J arrays seen as transport buffers without a copy, each wrapped once: an actor meets the same
 * few register and parameter buffers every run, so wrapping is set-up, not hot-path work.
 */
final class WrappedArrays {
    private final String owner;
    private final ElementType type;
    private final Map<INDArray, TensorBuffer> wrapped = new IdentityHashMap<>();

    /** @param owner the actor, named in the error when a buffer is not contiguous */
    WrappedArrays(String owner, ElementType type) {
        this.owner = owner;
        this.type = type;
    }

    /** The memory of a contiguous C-order array as a tensor buffer of {@code shape}. */
    TensorBuffer wrap(INDArray array, int[] shape) {
        return wrapped.computeIfAbsent(array, a -> {
            if (!rowMajorContiguous(a)) {
                throw new IllegalStateException("'" + owner + "' reads a buffer of shape " + Arrays.toString(a.shape())
                        + " with strides " + Arrays.toString(a.stride()) + ", which is not contiguous in C order; "
                        + "registers and parameters always are");
            }
            int bytes = type.bytes();
            ByteBuffer whole = a.data().asNio();
            int start = Math.toIntExact(a.offset() * bytes);
            ByteBuffer region = whole.duplicate().position(start).limit(start + Math.toIntExact(a.length() * bytes))
                    .slice();
            return TensorBuffer.wrap(type, region, shape);
        });
    }

    /** Whether element i in C order is element {@code offset + i} of the data (axes of size 1 have any stride). */
    private static boolean rowMajorContiguous(INDArray a) {
        long[] shape = a.shape();
        long[] stride = a.stride();
        long expected = 1;
        for (int axis = shape.length - 1; axis >= 0; axis--) {
            if (shape[axis] != 1 && stride[axis] != expected) {
                return false;
            }
            expected *= shape[axis];
        }
        return true;
    }
}
