package dev.tessera.collective;

import dev.tessera.graph.TensorType;
import dev.tessera.ops.Checks;
import java.util.List;

/** Shape checks shared by the collective ops. */
final class CollectiveChecks {
    private CollectiveChecks() {
    }

    static void sameTypes(List<TensorType> in, int members) {
        Checks.require(in.size() == members && members > 0, "expected one input per member (" + members + "), got "
                + in.size());
        for (TensorType t : in) {
            Checks.require(t.equals(in.get(0)), "members hold different types: " + in);
        }
    }

    static TensorType concatenated(List<TensorType> in, int members, int axis) {
        Checks.require(in.size() == members && members > 0, "expected one input per member (" + members + "), got "
                + in.size());
        TensorType first = in.get(0);
        int total = 0;
        for (TensorType t : in) {
            Checks.require(t.dtype() == first.dtype() && t.rank() == first.rank()
                    && t.shape().with(axis, 1).equals(first.shape().with(axis, 1)),
                    "members' parts differ outside axis " + axis + ": " + in);
            total += t.shape().dim(axis);
        }
        return new TensorType(first.shape().with(axis, total), first.dtype());
    }
}
