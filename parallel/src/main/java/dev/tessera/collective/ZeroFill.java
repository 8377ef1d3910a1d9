package dev.tessera.collective;

import dev.tessera.graph.OpDef;
import dev.tessera.graph.TensorType;
import java.util.List;

import dev.tessera.ops.Checks;

/**
 * B -> P on one member: the group's first member keeps its copy ({@code keep}), the others
 * output zeros, so the members' values sum to the tensor.
 */
public record ZeroFill(boolean keep) implements OpDef {

    @Override
    public String type() {
        return "zero_fill";
    }

    @Override
    public List<TensorType> inferOutputs(List<TensorType> in) {
        Checks.arity(in, 1);
        return List.of(in.get(0));
    }
}
