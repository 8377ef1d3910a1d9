package dev.tessera.ops;

import static dev.tessera.ops.Checks.arity;
import static dev.tessera.ops.Checks.floating;

import dev.tessera.graph.Cost;
import dev.tessera.graph.GradientBuilder;
import dev.tessera.graph.OpDef;
import dev.tessera.graph.TensorType;
import dev.tessera.sbp.SbpSignature;
import java.util.List;

/** Hyperbolic tangent element-wise. Its gradient reads the output y, so x need not be kept. */
public record Tanh() implements OpDef {

    /** Rough FLOPs of one tanh, for the cost model. */
    static final int FLOPS_PER_ELEMENT = 8;

    @Override
    public String type() {
        return "tanh";
    }

    @Override
    public List<TensorType> inferOutputs(List<TensorType> in) {
        arity(in, 1);
        floating(in.get(0), "x");
        return List.of(in.get(0));
    }

    @Override
    public Cost cost(List<TensorType> in, List<TensorType> out) {
        long n = in.get(0).shape().size();
        return Cost.of(FLOPS_PER_ELEMENT * n, 2 * n * in.get(0).dtype().bytes());
    }

    @Override
    public List<SbpSignature> sbpSignatures(List<TensorType> in) {
        return ElementwiseSbp.signatures(in.get(0).rank(), 1, false);
    }

    @Override
    public void gradient(GradientBuilder g) {
        g.inputGrad(0, g.emit(new TanhGrad(), g.outputGrad(0), g.output(0)));
    }
}
