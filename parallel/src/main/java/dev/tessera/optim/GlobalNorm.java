package dev.tessera.optim;

import dev.tessera.graph.OpDef;
import dev.tessera.graph.Shape;
import dev.tessera.graph.TensorType;
import dev.tessera.ops.Checks;
import java.util.List;

/**
 * The global L2 norm of a set of gradients from their {@link SquaredNorm}s: {@code sqrt} of the
 * sum of its {@code count} scalar inputs. It declares no SBP signature, so it runs whole on
 * every device, after the planner has summed the partial squared norms of split gradients.
 */
public record GlobalNorm(int count) implements OpDef {

    @Override
    public String type() {
        return "global_norm";
    }

    @Override
    public List<TensorType> inferOutputs(List<TensorType> in) {
        Checks.require(count > 0 && in.size() == count, "expected " + count + " squared norms, got " + in.size());
        for (TensorType t : in) {
            Checks.floating(t, "squared norm");
            Checks.require(t.rank() == 0, "every squared norm must be a scalar, got " + t);
            Checks.require(t.dtype() == in.get(0).dtype(), "all squared norms must have the same dtype");
        }
        return List.of(new TensorType(Shape.scalar(), in.get(0).dtype()));
    }
}
