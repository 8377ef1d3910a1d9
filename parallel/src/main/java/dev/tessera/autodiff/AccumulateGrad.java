package dev.tessera.autodiff;

import dev.tessera.graph.OpDef;
import dev.tessera.graph.TensorType;
import dev.tessera.ops.Checks;
import java.util.List;

/**
 * {@code accumulator += gradient}: sums a parameter's gradient over the micro-batches of an
 * iteration. Runs in the W phase; the executor zeroes accumulators when an iteration starts.
 */
public record AccumulateGrad() implements OpDef {

    @Override
    public String type() {
        return "accumulate_grad";
    }

    @Override
    public List<TensorType> inferOutputs(List<TensorType> in) {
        Checks.arity(in, 2);
        Checks.sameType(in.get(0), in.get(1));
        return List.of();
    }

    @Override
    public List<Integer> mutatedInputs() {
        return List.of(0);
    }
}
