package dev.tessera.optim;

import dev.tessera.graph.Cost;
import dev.tessera.graph.TensorType;
import dev.tessera.ops.Checks;
import dev.tessera.sbp.SbpSignature;
import java.util.List;

/**
 * One SGD-with-momentum step for one parameter. Inputs: parameter, gradient, velocity (all the
 * same type), learning rate (scalar). Updates parameter and velocity in place.
 */
public record SgdUpdate(double momentum, double weightDecay) implements OptimizerUpdate {

    @Override
    public int inputCount() {
        return 4;
    }

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

    /** About five FLOPs per element; reads three tensors, writes two. */
    @Override
    public Cost cost(List<TensorType> in, List<TensorType> out) {
        TensorType p = in.get(0);
        return Cost.of(5 * p.shape().size(), 5 * p.shape().size() * p.dtype().bytes());
    }

    /** Element-wise over the stored tensors: all split along one axis or all whole; the learning rate whole. */
    @Override
    public List<SbpSignature> sbpSignatures(List<TensorType> in) {
        return InPlaceSbp.signatures(in.get(0).rank(), 3, 1);
    }

    @Override
    public List<Integer> mutatedInputs() {
        return List.of(0, 2);
    }
}
