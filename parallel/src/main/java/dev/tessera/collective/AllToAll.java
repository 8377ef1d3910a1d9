package dev.tessera.collective;

import dev.tessera.graph.OpDef;
import dev.tessera.graph.TensorType;
import java.util.List;

import dev.tessera.sbp.Sharding;

/**
 * Member {@code member}'s part of an all-to-all (S(fromAxis) -> S(toAxis)): inputs are the
 * members' parts along {@code fromAxis} in coordinate order; the output is this member's
 * balanced part along {@code toAxis} of their concatenation.
 */
public record AllToAll(int fromAxis, int toAxis, int member, int members) implements OpDef {

    @Override
    public String type() {
        return "all_to_all";
    }

    @Override
    public List<TensorType> inferOutputs(List<TensorType> in) {
        TensorType whole = CollectiveChecks.concatenated(in, members, fromAxis);
        int size = whole.shape().dim(toAxis);
        return List.of(new TensorType(whole.shape().with(toAxis, Sharding.partLength(size, members, member)), whole.dtype()));
    }
}
