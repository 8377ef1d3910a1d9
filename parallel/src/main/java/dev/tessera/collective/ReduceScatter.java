package dev.tessera.collective;

import dev.tessera.graph.OpDef;
import dev.tessera.graph.TensorType;
import java.util.List;

import dev.tessera.sbp.Sharding;

/**
 * Member {@code member}'s part of a reduce-scatter (P -> S(axis)): inputs are the members'
 * partial tensors in coordinate order, the output this member's balanced part along
 * {@code axis} of their sum.
 */
public record ReduceScatter(int axis, int member, int members) implements OpDef {

    @Override
    public String type() {
        return "reduce_scatter";
    }

    @Override
    public List<TensorType> inferOutputs(List<TensorType> in) {
        CollectiveChecks.sameTypes(in, members);
        TensorType whole = in.get(0);
        int size = whole.shape().dim(axis);
        return List.of(new TensorType(whole.shape().with(axis, Sharding.partLength(size, members, member)), whole.dtype()));
    }
}
