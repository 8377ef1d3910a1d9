package dev.tessera.ops;

import static dev.tessera.ops.Checks.arity;
import static dev.tessera.ops.Checks.floating;
import static dev.tessera.ops.Checks.require;
import static dev.tessera.sbp.Sbp.broadcast;
import static dev.tessera.sbp.Sbp.partialSum;
import static dev.tessera.sbp.Sbp.split;

import dev.tessera.graph.GradientBuilder;
import dev.tessera.graph.OpDef;
import dev.tessera.graph.TensorType;
import dev.tessera.sbp.SbpSignature;
import java.util.ArrayList;
import java.util.List;

/** {@code x[..., j] + bias[j]}: adds a vector along the last axis. The bias gradient is a W op. */
public record BiasAdd() implements OpDef {

    @Override
    public String type() {
        return "bias_add";
    }

    @Override
    public List<TensorType> inferOutputs(List<TensorType> in) {
        arity(in, 2);
        TensorType x = in.get(0);
        TensorType b = in.get(1);
        floating(x, "x");
        require(x.rank() >= 1 && b.rank() == 1 && b.shape().dim(0) == x.shape().dim(-1),
                "bias must be a vector as long as the last axis of x");
        require(x.dtype() == b.dtype(), "x and bias must have the same dtype");
        return List.of(x);
    }

    @Override
    public List<SbpSignature> sbpSignatures(List<TensorType> in) {
        int r = in.get(0).rank();
        List<SbpSignature> sigs = new ArrayList<>();
        for (int axis = 0; axis < r - 1; axis++) {
            sigs.add(SbpSignature.in(split(axis), broadcast()).out(split(axis)));
        }
        sigs.add(SbpSignature.in(split(r - 1), split(0)).out(split(r - 1)));
        sigs.add(SbpSignature.in(broadcast(), broadcast()).out(broadcast()));
        sigs.add(SbpSignature.in(partialSum(), partialSum()).out(partialSum()));
        return sigs;
    }

    @Override
    public void gradient(GradientBuilder g) {
        if (g.requiresGrad(0)) {
            g.inputGrad(0, g.outputGrad(0));
        }
        if (g.requiresGrad(1)) {
            g.inputGrad(1, g.emit(new SumRows(), g.outputGrad(0)));
        }
    }
}
