package dev.tessera.worker.process;

import com.google.protobuf.ByteString;
import dev.tessera.graph.DType;
import dev.tessera.graph.Shape;
import dev.tessera.proto.graph.DataType;
import dev.tessera.proto.process.TensorValue;
import dev.tessera.tensor.HostTensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Host tensors as {@code TensorValue} messages (tessera_process.proto) and back, bit for bit. */
public final class TensorValues {
    private TensorValues() {
    }

    public static TensorValue of(String name, HostTensor tensor) {
        int n = tensor.size();
        ByteBuffer bytes = ByteBuffer.allocate(n * tensor.dtype().bytes()).order(ByteOrder.LITTLE_ENDIAN);
        switch (tensor.dtype()) {
            case F32 -> bytes.asFloatBuffer().put(tensor.floats());
            case F64 -> bytes.asDoubleBuffer().put(tensor.doubles());
            case I32 -> bytes.asIntBuffer().put(tensor.ints());
        }
        TensorValue.Builder value = TensorValue.newBuilder().setName(name)
                .setDtype(DataType.valueOf(tensor.dtype().name())).setData(ByteString.copyFrom(bytes.array()));
        for (long dim : tensor.shape().toArray()) {
            value.addShape(dim);
        }
        return value.build();
    }

    public static List<TensorValue> all(Map<String, HostTensor> tensors) {
        return tensors.entrySet().stream().map(e -> of(e.getKey(), e.getValue())).toList();
    }

    /**
     * @throws IllegalArgumentException naming the tensor when its bytes do not fill its shape
     */
    public static HostTensor toHost(TensorValue value) {
        Shape shape = Shape.of(value.getShapeList().stream().mapToLong(Long::longValue).toArray());
        DType dtype = DType.valueOf(value.getDtype().name());
        ByteBuffer bytes = value.getData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        long expected = shape.size() * dtype.bytes();
        if (bytes.remaining() != expected) {
            throw new IllegalArgumentException("tensor '" + value.getName() + "' of " + dtype + shape + " carries "
                    + bytes.remaining() + " bytes, not " + expected + "; the sending process wrote another tensor");
        }
        int n = (int) shape.size();
        return switch (dtype) {
            case F32 -> {
                float[] data = new float[n];
                bytes.asFloatBuffer().get(data);
                yield HostTensor.ofFloats(shape, data);
            }
            case F64 -> {
                double[] data = new double[n];
                bytes.asDoubleBuffer().get(data);
                yield HostTensor.ofDoubles(shape, data);
            }
            case I32 -> {
                int[] data = new int[n];
                bytes.asIntBuffer().get(data);
                yield HostTensor.ofInts(shape, data);
            }
        };
    }

    public static Map<String, HostTensor> toHost(List<TensorValue> values) {
        Map<String, HostTensor> out = new LinkedHashMap<>();
        values.forEach(v -> out.put(v.getName(), toHost(v)));
        return out;
    }
}
