package dev.tessera.collective;

import dev.tessera.graph.OpDef;
import dev.tessera.graph.TensorType;
import java.util.List;

/**
 * One member's part of an all-reduce (P -> B) over a peer group: inputs are the members'
 * partial tensors in coordinate order, the output their sum, added in that order so that every
 * member gets bit-identical values.
 */
public record AllReduce(int members) implements OpDef {

    @Override
    public String type() {
        return "all_reduce";
    }

    @Override
    public List<TensorType> inferOutputs(List<TensorType> in) {
        CollectiveChecks.sameTypes(in, members);
        return List.of(in.get(0));
    }
}
