package dev.tessera.optim;

import dev.tessera.graph.Cost;
import dev.tessera.graph.TensorType;
import dev.tessera.ops.Checks;
import dev.tessera.sbp.SbpSignature;
import java.util.List;

/**
 * One AdamW step for one parameter. Inputs: parameter, gradient, first moment, second moment
 * (all the same type), learning rate and step number t >= 1 (scalars). Updates parameter and
 * both moments in place.
 */
public record AdamWUpdate(double beta1, double beta2, double epsilon, double weightDecay) implements OptimizerUpdate {

    @Override
    public int inputCount() {
        return 6;
    }

    @Override
    public String type() {
        return "adamw_update";
    }

    @Override
    public List<TensorType> inferOutputs(List<TensorType> in) {
        Checks.arity(in, 6);
        for (int i = 1; i < 4; i++) {
            Checks.sameType(in.get(0), in.get(i));
        }
        Checks.require(in.get(4).rank() == 0 && in.get(5).rank() == 0, "learning rate and step must be scalars");
        return List.of();
    }

    /** About fifteen FLOPs per element (moments, bias correction, square root); reads four tensors, writes three. */
    @Override
    public Cost cost(List<TensorType> in, List<TensorType> out) {
        TensorType p = in.get(0);
        return Cost.of(15 * p.shape().size(), 7 * p.shape().size() * p.dtype().bytes());
    }

    /** Element-wise over the stored tensors: all split along one axis or all whole; learning rate and step whole. */
    @Override
    public List<SbpSignature> sbpSignatures(List<TensorType> in) {
        return InPlaceSbp.signatures(in.get(0).rank(), 4, 2);
    }

    @Override
    public List<Integer> mutatedInputs() {
        return List.of(0, 2, 3);
    }
}
