package dev.tessera.ops;

import dev.tessera.graph.GradientBuilder;

/** {@code max(x, 0)} element-wise. */
public record Relu() implements UnaryElementwise {

    @Override
    public String type() {
        return "relu";
    }

    @Override
    public void gradient(GradientBuilder g) {
        g.inputGrad(0, g.emit(new ReluGrad(), g.outputGrad(0), g.input(0)));
    }
}
