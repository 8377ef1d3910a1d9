package dev.tessera.ops;

import dev.tessera.graph.GradientBuilder;

/** Hyperbolic tangent element-wise. Its gradient reads the output y, so x need not be kept. */
public record Tanh() implements UnaryElementwise {

    /** Rough FLOPs of one tanh, for the cost model. */
    static final int FLOPS_PER_ELEMENT = 8;

    @Override
    public String type() {
        return "tanh";
    }

    @Override
    public int flopsPerElement() {
        return FLOPS_PER_ELEMENT;
    }

    @Override
    public void gradient(GradientBuilder g) {
        g.inputGrad(0, g.emit(new TanhGrad(), g.outputGrad(0), g.output(0)));
    }
}
