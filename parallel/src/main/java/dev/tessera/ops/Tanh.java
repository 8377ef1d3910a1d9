package dev.tessera.ops;

import dev.tessera.graph.Cost;
import dev.tessera.graph.GradientBuilder;
import dev.tessera.graph.TensorType;
import java.util.List;

/** Hyperbolic tangent element-wise. Its gradient reads the output y, so x need not be kept. */
public record Tanh() implements UnaryElementwise {

    /** Rough FLOPs of one tanh, for the cost model. */
    static final int FLOPS_PER_ELEMENT = 8;

    @Override
    public String type() {
        return "tanh";
    }

    @Override
    public Cost cost(List<TensorType> in, List<TensorType> out) {
        long n = in.get(0).shape().size();
        return Cost.of(FLOPS_PER_ELEMENT * n, 2 * n * in.get(0).dtype().bytes());
    }

    @Override
    public void gradient(GradientBuilder g) {
        g.inputGrad(0, g.emit(new TanhGrad(), g.outputGrad(0), g.output(0)));
    }
}
