package dev.tessera.autodiff;

import dev.tessera.graph.OpDef;
import dev.tessera.graph.Shape;
import dev.tessera.graph.TensorType;
import dev.tessera.graph.DType;
import dev.tessera.ops.Checks;
import java.util.List;

/**
 * The gradient of the iteration's loss with respect to one micro-batch's loss: {@code value}
 * = 1 / micro-batches, since the iteration's loss is the mean over its micro-batches.
 */
public record GradientSeed(double value, DType dtype) implements OpDef {

    @Override
    public String type() {
        return "gradient_seed";
    }

    @Override
    public List<TensorType> inferOutputs(List<TensorType> inputs) {
        Checks.arity(inputs, 0);
        return List.of(new TensorType(Shape.scalar(), dtype));
    }
}
