package dev.tessera.ops;

import static dev.tessera.ops.Checks.arity;
import static dev.tessera.ops.Checks.floating;

import dev.tessera.graph.GradientBuilder;
import dev.tessera.graph.OpDef;
import dev.tessera.graph.TensorType;
import dev.tessera.sbp.SbpSignature;
import java.util.List;

/** {@code max(x, 0)} element-wise. */
public record Relu() implements OpDef {

    @Override
    public String type() {
        return "relu";
    }

    @Override
    public List<TensorType> inferOutputs(List<TensorType> in) {
        arity(in, 1);
        floating(in.get(0), "x");
        return List.of(in.get(0));
    }

    @Override
    public List<SbpSignature> sbpSignatures(List<TensorType> in) {
        return ElementwiseSbp.signatures(in.get(0).rank(), 1, false);
    }

    @Override
    public void gradient(GradientBuilder g) {
        g.inputGrad(0, g.emit(new ReluGrad(), g.outputGrad(0), g.input(0)));
    }
}
