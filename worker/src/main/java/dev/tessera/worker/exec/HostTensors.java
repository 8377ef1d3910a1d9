package dev.tessera.worker.exec;

import dev.tessera.graph.DType;
import dev.tessera.graph.Shape;
import dev.tessera.graph.TensorType;
import dev.tessera.tensor.HostTensor;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Moves tensors between plain Java arrays and ND4J buffers. */
public final class HostTensors {
    private HostTensors() {
    }

    public static DataType nd4jType(DType dtype) {
        return switch (dtype) {
            case F32 -> DataType.FLOAT;
            case F64 -> DataType.DOUBLE;
            case I32 -> DataType.INT;
        };
    }

    /** A zeroed C-order buffer of this type. */
    public static INDArray allocate(TensorType type) {
        long[] shape = type.shape().toLongArray();
        if (shape.length == 0) {
            return Nd4j.scalar(nd4jType(type.dtype()), 0);
        }
        return Nd4j.zeros(nd4jType(type.dtype()), shape);
    }

    /** An ND4J array holding a copy of {@code host}. */
    public static INDArray toNd4j(HostTensor host) {
        INDArray a = allocate(new TensorType(host.shape(), host.dtype()));
        copyInto(host, a);
        return a;
    }

    /**
     * Overwrites {@code target} (a C-order buffer of the same size and dtype) with {@code host}.
     *
     * @throws IllegalArgumentException if sizes or dtypes differ
     */
    public static void copyInto(HostTensor host, INDArray target) {
        if (host.size() != target.length() || nd4jType(host.dtype()) != target.dataType()) {
            throw new IllegalArgumentException("cannot copy " + host + " into a buffer of shape "
                    + java.util.Arrays.toString(target.shape()) + " " + target.dataType());
        }
        if ((target.ordering() == 'c' || target.rank() <= 1) && org.nd4j.linalg.api.shape.Shape.hasDefaultStridesForShape(target)) {
            // A bulk copy into the buffer: creating an ND4J array from the host values and
            // assigning it took 0.4-0.8 ms for an MLP batch of 100,352 floats, this 12-19 us.
            int offset = Math.toIntExact(target.offset());
            switch (host.dtype()) {
                case F32 -> target.data().asNioFloat().put(offset, host.floats());
                case F64 -> target.data().asNioDouble().put(offset, host.doubles());
                case I32 -> target.data().asNioInt().put(offset, host.ints());
            }
            return;
        }
        INDArray flat = target.reshape('c', new long[] {target.length()});
        switch (host.dtype()) {
            case F32 -> flat.assign(Nd4j.createFromArray(host.floats()));
            case F64 -> flat.assign(Nd4j.createFromArray(host.doubles()));
            case I32 -> flat.assign(Nd4j.createFromArray(host.ints()));
        }
    }

    /**
     * Whether a floating-point buffer holds a NaN or an infinity; integer buffers never do. Checks
     * every element (a sum of large finite values could itself overflow), so it is for failure
     * paths, not for every step.
     */
    public static boolean hasNonFinite(INDArray a) {
        if (!a.dataType().isFPType()) {
            return false;
        }
        try (INDArray nan = a.isNaN(); INDArray infinite = a.isInfinite()) {
            return nan.any() || infinite.any();
        }
    }

    /** A copy of {@code a} as a host tensor. */
    public static HostTensor toHost(INDArray a) {
        INDArray c = a.dup('c');
        Shape shape = Shape.of(c.shape());
        return switch (c.dataType()) {
            case FLOAT -> HostTensor.ofFloats(shape, c.data().asFloat());
            case DOUBLE -> HostTensor.ofDoubles(shape, c.data().asDouble());
            case INT -> HostTensor.ofInts(shape, c.data().asInt());
            default -> throw new IllegalArgumentException("unsupported ND4J dtype " + c.dataType());
        };
    }
}
