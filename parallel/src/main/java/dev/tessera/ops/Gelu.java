package dev.tessera.ops;

import dev.tessera.graph.GradientBuilder;

/**
 * GELU with the tanh approximation used by GPT-2 and BERT:
 * {@code 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))}.
 */
public record Gelu() implements UnaryElementwise {

    /** The cubic coefficient of the tanh approximation. */
    public static final double CUBIC = 0.044715;
    /** {@code sqrt(2/pi)}. */
    public static final double SQRT_2_OVER_PI = Math.sqrt(2.0 / Math.PI);
    /** Rough FLOPs of one GELU, for the cost model. */
    static final int FLOPS_PER_ELEMENT = 14;

    /** Reference value in plain Java, for tests and documentation of the exact formula. */
    public static double value(double x) {
        return 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + CUBIC * x * x * x)));
    }

    @Override
    public String type() {
        return "gelu";
    }

    @Override
    public int flopsPerElement() {
        return FLOPS_PER_ELEMENT;
    }

    @Override
    public void gradient(GradientBuilder g) {
        g.inputGrad(0, g.emit(new GeluGrad(), g.outputGrad(0), g.input(0)));
    }
}
