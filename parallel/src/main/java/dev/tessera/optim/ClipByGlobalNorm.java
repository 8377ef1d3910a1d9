package dev.tessera.optim;

import dev.tessera.graph.OpDef;
import dev.tessera.graph.Shape;
import dev.tessera.graph.TensorType;
import dev.tessera.ops.Checks;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Computes the global L2 norm of {@code gradients} tensors (its one output) and, when it exceeds
 * {@code maxNorm > 0}, scales every gradient in place by {@code maxNorm / norm}. With
 * {@code maxNorm <= 0} it only measures.
 */
public record ClipByGlobalNorm(double maxNorm, int gradients) implements OpDef {

    @Override
    public String type() {
        return "clip_by_global_norm";
    }

    @Override
    public List<TensorType> inferOutputs(List<TensorType> in) {
        Checks.require(in.size() == gradients && gradients > 0, "expected " + gradients + " gradients, got " + in.size());
        for (TensorType t : in) {
            Checks.floating(t, "gradient");
            Checks.require(t.dtype() == in.get(0).dtype(), "all gradients must have the same dtype");
        }
        return List.of(new TensorType(Shape.scalar(), in.get(0).dtype()));
    }

    @Override
    public List<Integer> mutatedInputs() {
        return maxNorm > 0 ? IntStream.range(0, gradients).boxed().toList() : List.of();
    }
}
