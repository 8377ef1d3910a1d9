package dev.tessera.ops;

import static dev.tessera.ops.Checks.arity;
import static dev.tessera.ops.Checks.floating;
import static dev.tessera.ops.Checks.require;

import dev.tessera.graph.GradientBuilder;
import dev.tessera.graph.OpDef;
import dev.tessera.graph.TensorType;
import dev.tessera.sbp.SbpSignature;
import java.util.List;

/** {@code x * factor} for a constant factor fixed when the graph is built. */
public record Scale(double factor) implements OpDef {

    public Scale {
        require(Double.isFinite(factor), "scale factor must be finite, got " + factor);
    }

    @Override
    public String type() {
        return "scale";
    }

    @Override
    public List<TensorType> inferOutputs(List<TensorType> in) {
        arity(in, 1);
        floating(in.get(0), "x");
        return List.of(in.get(0));
    }

    @Override
    public List<SbpSignature> sbpSignatures(List<TensorType> in) {
        return ElementwiseSbp.signatures(in.get(0).rank(), 1, true);
    }

    @Override
    public void gradient(GradientBuilder g) {
        g.inputGrad(0, g.emit(new Scale(factor), g.outputGrad(0)));
    }
}
