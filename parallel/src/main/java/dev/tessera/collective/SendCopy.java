package dev.tessera.collective;

import dev.tessera.graph.OpDef;
import dev.tessera.graph.TensorType;
import java.util.List;

import dev.tessera.ops.Checks;

/**
 * Copies a parameter or optimizer-state tensor into a register, so that a collective on other
 * devices receives it through a transfer like any activation (stored tensors are bound into
 * kernels only on their own device).
 */
public record SendCopy() implements OpDef {

    @Override
    public String type() {
        return "send_copy";
    }

    @Override
    public List<TensorType> inferOutputs(List<TensorType> in) {
        Checks.arity(in, 1);
        return List.of(in.get(0));
    }
}
