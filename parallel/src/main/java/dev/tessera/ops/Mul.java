package dev.tessera.ops;

import static dev.tessera.ops.Checks.arity;
import static dev.tessera.ops.Checks.floating;
import static dev.tessera.ops.Checks.sameType;
import static dev.tessera.sbp.Sbp.broadcast;
import static dev.tessera.sbp.Sbp.partialSum;

import dev.tessera.graph.GradientBuilder;
import dev.tessera.graph.OpDef;
import dev.tessera.graph.TensorType;
import dev.tessera.sbp.SbpSignature;
import java.util.ArrayList;
import java.util.List;

/** Element-wise product {@code a * b} of two tensors with the same shape and dtype. */
public record Mul() implements OpDef {

    @Override
    public String type() {
        return "mul";
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
        List<SbpSignature> sigs = new ArrayList<>(ElementwiseSbp.signatures(in.get(0).rank(), 2, false));
        // Linear in each factor alone: a partial sum times a whole tensor is a partial product.
        sigs.add(SbpSignature.in(partialSum(), broadcast()).out(partialSum()));
        sigs.add(SbpSignature.in(broadcast(), partialSum()).out(partialSum()));
        return sigs;
    }

    @Override
    public void gradient(GradientBuilder g) {
        if (g.requiresGrad(0)) {
            g.inputGrad(0, g.emit(new Mul(), g.outputGrad(0), g.input(1)));
        }
        if (g.requiresGrad(1)) {
            g.inputGrad(1, g.emit(new Mul(), g.outputGrad(0), g.input(0)));
        }
    }
}
