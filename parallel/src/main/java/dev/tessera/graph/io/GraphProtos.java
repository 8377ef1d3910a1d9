package dev.tessera.graph.io;

import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.graph.DType;
import dev.tessera.graph.LogicalGraph;
import dev.tessera.graph.Op;
import dev.tessera.graph.Shape;
import dev.tessera.graph.Tensor;
import dev.tessera.proto.graph.AttributeValue;
import dev.tessera.proto.graph.DataType;
import dev.tessera.proto.graph.GraphProto;
import dev.tessera.proto.graph.IntList;
import dev.tessera.proto.graph.OpProto;
import dev.tessera.proto.graph.Phase;
import dev.tessera.proto.graph.TensorKind;
import dev.tessera.proto.graph.TensorProto;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.RecordComponent;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Writes graphs as Protobuf ({@code tessera_graph.proto}). Op attributes are the components of
 * the op's record, so a new op type needs no code here.
 */
public final class GraphProtos {
    private GraphProtos() {
    }

    public static GraphProto encode(LogicalGraph graph, Tensor loss) {
        return encode(graph.ops(), loss);
    }

    public static GraphProto encode(TrainingGraph graph) {
        return encode(graph.ops(), graph.loss());
    }

    private static GraphProto encode(List<Op> ops, Tensor loss) {
        Set<Tensor> tensors = new LinkedHashSet<>();
        for (Op op : ops) {
            tensors.addAll(op.inputs());
            tensors.addAll(op.outputs());
        }
        GraphProto.Builder g = GraphProto.newBuilder().setLoss(loss == null ? -1 : loss.id());
        tensors.stream().sorted(java.util.Comparator.comparingInt(Tensor::id)).forEach(t -> g.addTensors(tensor(t)));
        for (Op op : ops) {
            g.addOps(op(op));
        }
        return g.build();
    }

    private static TensorProto tensor(Tensor t) {
        TensorProto.Builder b = TensorProto.newBuilder()
                .setId(t.id())
                .setName(t.name())
                .setDtype(dtype(t.dtype()))
                .setKind(TensorKind.valueOf(t.kind().name()));
        for (long d : t.shape().toLongArray()) {
            b.addShape(d);
        }
        if (t.initializer() != null) {
            b.setInitializer(t.initializer().toString());
        }
        return b.build();
    }

    private static OpProto op(Op op) {
        OpProto.Builder b = OpProto.newBuilder()
                .setId(op.id())
                .setName(op.name())
                .setType(op.def().type())
                .setPhase(Phase.valueOf(op.phase().name()));
        op.forwardOp().ifPresent(forward -> b.setForwardOp(forward.id()));
        op.inputs().forEach(t -> b.addInputs(t.id()));
        op.outputs().forEach(t -> b.addOutputs(t.id()));
        if (op.def() instanceof Record record) {
            for (RecordComponent c : record.getClass().getRecordComponents()) {
                b.putAttributes(c.getName(), attribute(read(record, c)));
            }
        }
        return b.build();
    }

    private static Object read(Record record, RecordComponent c) {
        try {
            return c.getAccessor().invoke(record);
        } catch (IllegalAccessException | InvocationTargetException e) {
            throw new IllegalStateException("cannot read attribute " + c.getName() + " of " + record, e);
        }
    }

    static AttributeValue attribute(Object value) {
        AttributeValue.Builder b = AttributeValue.newBuilder();
        if (value instanceof Boolean flag) {
            b.setFlag(flag);
        } else if (value instanceof Integer || value instanceof Long) {
            b.setInteger(((Number) value).longValue());
        } else if (value instanceof Float || value instanceof Double) {
            b.setReal(((Number) value).doubleValue());
        } else if (value instanceof int[] ints) {
            IntList.Builder list = IntList.newBuilder();
            for (int i : ints) {
                list.addValues(i);
            }
            b.setIntegers(list);
        } else if (value instanceof Shape shape) {
            b.setIntegers(IntList.newBuilder().addAllValues(java.util.Arrays.stream(shape.toLongArray()).boxed().toList()));
        } else {
            b.setText(String.valueOf(value));
        }
        return b.build();
    }

    private static DataType dtype(DType d) {
        return DataType.valueOf(d.name());
    }
}
