package dev.tessera.optim;

import dev.tessera.graph.OpDef;
import dev.tessera.graph.TensorType;
import dev.tessera.ops.Checks;
import java.util.List;

/**
 * One SGD-with-momentum step for one parameter. Inputs: parameter, gradient, velocity (all the
 * same type), learning rate (scalar). Updates parameter and velocity in place.
 */
public record SgdUpdate(double momentum, double weightDecay) implements OpDef {

    @Override
    public String type() {
        return "sgd_update";
    }

    @Override
    public List<TensorType> inferOutputs(List<TensorType> in) {
        Checks.arity(in, 4);
        Checks.sameType(in.get(0), in.get(1));
        Checks.sameType(in.get(0), in.get(2));
        Checks.require(in.get(3).rank() == 0, "learning rate must be a scalar");
        return List.of();
    }

    @Override
    public List<Integer> mutatedInputs() {
        return List.of(0, 2);
    }
}
