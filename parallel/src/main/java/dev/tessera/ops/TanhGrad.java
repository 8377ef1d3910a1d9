package dev.tessera.ops;

import dev.tessera.graph.Cost;
import dev.tessera.graph.GradientBuilder;
import dev.tessera.graph.Tensor;
import dev.tessera.graph.TensorType;
import java.util.List;

/** Backward of {@link Tanh}: inputs (dy, y) where y = tanh(x), output {@code dy * (1 - y^2)}. */
public record TanhGrad() implements ElementwiseBackward {

    @Override
    public String type() {
        return "tanh_grad";
    }

    @Override
    public Cost cost(List<TensorType> in, List<TensorType> out) {
        long n = in.get(0).shape().size();
        return Cost.of(3 * n, 3 * n * in.get(0).dtype().bytes());
    }

    /** d/d(dy) = (1 - y^2) and d/dy = -2 y dy, both built from existing ops. */
    @Override
    public void gradient(GradientBuilder g) {
        Tensor ddx = g.outputGrad(0);
        if (g.requiresGrad(0)) {
            g.inputGrad(0, g.emit(new TanhGrad(), ddx, g.input(1)));
        }
        if (g.requiresGrad(1)) {
            Tensor dyTimesY = g.emit(new Mul(), g.input(0), g.input(1));
            g.inputGrad(1, g.emit(new Scale(-2.0), g.emit(new Mul(), ddx, dyTimesY)));
        }
    }
}
