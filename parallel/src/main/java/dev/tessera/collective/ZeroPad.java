package dev.tessera.collective;

import dev.tessera.graph.OpDef;
import dev.tessera.graph.TensorType;
import java.util.List;

import dev.tessera.ops.Checks;

/**
 * S(axis) -> P on one member: its part is placed at {@code offset} along {@code axis} in zeros
 * of the group's whole size {@code total} along that axis.
 */
public record ZeroPad(int axis, int offset, int total) implements OpDef {

    @Override
    public String type() {
        return "zero_pad";
    }

    @Override
    public List<TensorType> inferOutputs(List<TensorType> in) {
        Checks.arity(in, 1);
        TensorType part = in.get(0);
        Checks.require(offset >= 0 && offset + part.shape().dim(axis) <= total,
                "a part of " + part.shape().dim(axis) + " at offset " + offset + " does not fit " + total);
        return List.of(new TensorType(part.shape().with(axis, total), part.dtype()));
    }
}
