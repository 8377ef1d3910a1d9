package dev.tessera.ops;

import static dev.tessera.ops.Checks.require;

import dev.tessera.graph.GradientBuilder;

/** {@code x * factor} for a constant factor fixed when the graph is built. */
public record Scale(double factor) implements UnaryElementwise {

    public Scale {
        require(Double.isFinite(factor), "scale factor must be finite, got " + factor);
    }

    @Override
    public String type() {
        return "scale";
    }

    @Override
    public boolean additive() {
        return true;
    }

    @Override
    public void gradient(GradientBuilder g) {
        g.inputGrad(0, g.emit(new Scale(factor), g.outputGrad(0)));
    }
}
