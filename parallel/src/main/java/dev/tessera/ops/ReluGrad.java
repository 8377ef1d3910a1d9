package dev.tessera.ops;

import dev.tessera.graph.GradientBuilder;

/** Backward of {@link Relu}: inputs (dy, x), output {@code dy where x > 0, else 0}. */
public record ReluGrad() implements ElementwiseBackward {

    @Override
    public String type() {
        return "relu_grad";
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
