package dev.tessera.collective;

import dev.tessera.graph.OpDef;
import dev.tessera.graph.TensorType;
import java.util.List;

/**
 * One member's part of an all-gather (S(axis) -> B): inputs are the members' parts in
 * coordinate order, the output their concatenation along {@code axis}.
 */
public record AllGather(int axis, int members) implements OpDef {

    @Override
    public String type() {
        return "all_gather";
    }

    @Override
    public List<TensorType> inferOutputs(List<TensorType> in) {
        return List.of(CollectiveChecks.concatenated(in, members, axis));
    }
}
