package dev.tessera.ops;

import dev.tessera.graph.Cost;
import dev.tessera.graph.GradientBuilder;
import dev.tessera.graph.TensorType;
import java.util.List;

/** Backward of {@link Gelu}: inputs (dy, x), output {@code dy * gelu'(x)}. */
public record GeluGrad() implements ElementwiseBackward {

    /** Reference derivative of {@link Gelu#value} in plain Java, for tests. */
    public static double derivative(double x) {
        double inner = Gelu.SQRT_2_OVER_PI * (x + Gelu.CUBIC * x * x * x);
        double t = Math.tanh(inner);
        double innerPrime = Gelu.SQRT_2_OVER_PI * (1 + 3 * Gelu.CUBIC * x * x);
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * innerPrime;
    }

    @Override
    public String type() {
        return "gelu_grad";
    }

    @Override
    public Cost cost(List<TensorType> in, List<TensorType> out) {
        long n = in.get(0).shape().size();
        return Cost.of(2 * Gelu.FLOPS_PER_ELEMENT * n, 3 * n * in.get(0).dtype().bytes());
    }

    /**
     * Only the gradient into dy (the op is linear in dy). A gradient into x would need gelu'',
     * which no training graph needs: autodiff differentiates forward ops, never their gradients.
     */
    @Override
    public void gradient(GradientBuilder g) {
        if (g.requiresGrad(1)) {
            throw new UnsupportedOperationException("op '" + g.op().name()
                    + "' (gelu_grad) has no gradient with respect to x (second derivative of GELU); "
                    + "differentiate the forward graph only");
        }
        if (g.requiresGrad(0)) {
            g.inputGrad(0, g.emit(new GeluGrad(), g.outputGrad(0), g.input(1)));
        }
    }
}
