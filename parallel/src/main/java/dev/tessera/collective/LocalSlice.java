package dev.tessera.collective;

import dev.tessera.graph.OpDef;
import dev.tessera.graph.TensorType;
import java.util.List;

import dev.tessera.ops.Checks;
import dev.tessera.sbp.Sharding;

/** B -> S(axis) on one member: it keeps its balanced part along {@code axis} of its own copy; nothing moves. */
public record LocalSlice(int axis, int member, int members) implements OpDef {

    @Override
    public String type() {
        return "local_slice";
    }

    @Override
    public List<TensorType> inferOutputs(List<TensorType> in) {
        Checks.arity(in, 1);
        TensorType whole = in.get(0);
        int size = whole.shape().dim(axis);
        return List.of(new TensorType(whole.shape().with(axis, Sharding.partLength(size, members, member)), whole.dtype()));
    }
}
