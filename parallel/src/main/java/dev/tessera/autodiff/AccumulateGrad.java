package dev.tessera.autodiff;

import dev.tessera.graph.Cost;
import dev.tessera.graph.OpDef;
import dev.tessera.graph.TensorType;
import dev.tessera.ops.Checks;
import dev.tessera.optim.InPlaceSbp;
import dev.tessera.sbp.Sbp;
import dev.tessera.sbp.SbpSignature;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code accumulator += gradient}: sums a parameter's gradient over the micro-batches of an
 * iteration. Runs in the W phase. At an iteration's first micro-batch it writes {@code 0 +
 * gradient} without reading the accumulator, so nothing has to zero the accumulator before (with
 * one micro-batch the accumulation is a single pass that copies the gradient).
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

    /** One add per element; reads two tensors, writes one. */
    @Override
    public Cost cost(List<TensorType> in, List<TensorType> out) {
        TensorType p = in.get(0);
        return Cost.of(p.shape().size(), 3 * p.shape().size() * p.dtype().bytes());
    }

    /** Element-wise: both split along one axis or both whole; never partial, as a stored accumulator never is. */
    @Override
    public List<SbpSignature> sbpSignatures(List<TensorType> in) {
        // Accumulation is linear: partial gradients may be summed locally into a partial
        // accumulator (reduced once per iteration instead of once per micro-batch).
        List<SbpSignature> sigs = new ArrayList<>(InPlaceSbp.signatures(in.get(0).rank(), 2, 0));
        sigs.add(SbpSignature.uniform(2, 0, Sbp.partialSum()));
        return sigs;
    }

    @Override
    public List<Integer> mutatedInputs() {
        return List.of(0);
    }
}
