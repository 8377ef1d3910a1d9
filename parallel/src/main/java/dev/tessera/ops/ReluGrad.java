package dev.tessera.ops;

import static dev.tessera.ops.Checks.arity;
import static dev.tessera.ops.Checks.floating;
import static dev.tessera.ops.Checks.sameType;

import dev.tessera.graph.GradientBuilder;
import dev.tessera.graph.OpDef;
import dev.tessera.graph.TensorType;
import dev.tessera.sbp.SbpSignature;
import java.util.List;

/** Backward of {@link Relu}: inputs (dy, x), output {@code dy where x > 0, else 0}. */
public record ReluGrad() implements OpDef {

    @Override
    public String type() {
        return "relu_grad";
    }

    @Override
    public List<TensorType> inferOutputs(List<TensorType> in) {
        arity(in, 2);
        floating(in.get(0), "dy");
        sameType(in.get(0), in.get(1));
        return List.of(in.get(0));
    }

    @Override
    public List<SbpSignature> sbpSignatures(List<TensorType> in) {
        return ElementwiseGradSbp.signatures(in.get(0).rank());
    }

    /** The output is piecewise constant in x, so no gradient flows into x (it is zero almost everywhere). */
    @Override
    public boolean differentiable(int index) {
        return index == 0;
    }

    @Override
    public void gradient(GradientBuilder g) {
        if (g.requiresGrad(0)) {
            g.inputGrad(0, g.emit(new ReluGrad(), g.outputGrad(0), g.input(1)));
        }
    }
}
