package dev.tessera.ops;

import static dev.tessera.ops.Checks.arity;
import static dev.tessera.ops.Checks.floating;
import static dev.tessera.ops.Checks.require;

import dev.tessera.graph.GradientBuilder;
import dev.tessera.graph.OpDef;
import dev.tessera.graph.TensorType;
import dev.tessera.sbp.Sbp;
import dev.tessera.sbp.SbpSignature;
import java.util.List;

/**
 * Backward of {@link Dropout} with the same p and seed: {@code dy * mask / (1 - p)}, the mask
 * recomputed from (seed, iteration, micro-batch, element index). It must run in the same
 * iteration and micro-batch as its forward op, which every executor guarantees.
 */
public record DropoutGrad(double p, long seed) implements OpDef {

    public DropoutGrad {
        require(p >= 0 && p < 1, "dropout probability must be in [0, 1), got " + p);
    }

    @Override
    public String type() {
        return "dropout_grad";
    }

    @Override
    public List<TensorType> inferOutputs(List<TensorType> in) {
        arity(in, 1);
        floating(in.get(0), "dy");
        return List.of(in.get(0));
    }

    @Override
    public List<SbpSignature> sbpSignatures(List<TensorType> in) {
        return List.of(SbpSignature.in(Sbp.broadcast()).out(Sbp.broadcast()));
    }

    /** The op multiplies by a fixed mask, so it is its own gradient. */
    @Override
    public void gradient(GradientBuilder g) {
        g.inputGrad(0, g.emit(new DropoutGrad(p, seed), g.outputGrad(0)));
    }
}
