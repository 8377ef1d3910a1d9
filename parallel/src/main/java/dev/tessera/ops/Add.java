package dev.tessera.ops;

import static dev.tessera.ops.Checks.arity;
import static dev.tessera.ops.Checks.floating;
import static dev.tessera.ops.Checks.sameType;

import dev.tessera.graph.GradientBuilder;
import dev.tessera.graph.OpDef;
import dev.tessera.graph.TensorType;
import dev.tessera.sbp.Sbp;
import dev.tessera.sbp.SbpSignature;
import java.util.List;

/** Element-wise {@code a + b} of two tensors with the same shape and dtype. */
public record Add() implements OpDef {

    @Override
    public String type() {
        return "add";
    }

    @Override
    public List<TensorType> inferOutputs(List<TensorType> in) {
        arity(in, 2);
        floating(in.get(0), "a");
        sameType(in.get(0), in.get(1));
        return List.of(in.get(0));
    }

    @Override
    public List<SbpSignature> sbpSignatures(List<TensorType> in) {
        return ElementwiseSbp.signatures(in.get(0).rank(), 2, true);
    }

    @Override
    public void gradient(GradientBuilder g) {
        for (int i = 0; i < 2; i++) {
            if (g.requiresGrad(i)) {
                g.inputGrad(i, g.outputGrad(0));
            }
        }
    }
}
