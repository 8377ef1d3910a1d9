package dev.tessera.ops;

import static dev.tessera.ops.Checks.arity;
import static dev.tessera.ops.Checks.floating;
import static dev.tessera.ops.Checks.require;
import static dev.tessera.ops.Checks.sameType;

import dev.tessera.graph.Cost;
import dev.tessera.graph.OpDef;
import dev.tessera.graph.TensorType;
import dev.tessera.sbp.Sbp;
import dev.tessera.sbp.SbpSignature;
import java.util.ArrayList;
import java.util.List;

/**
 * Backward of {@link Softmax}: inputs (dy, y), output {@code dx = scale * y * (dy - sum(dy * y))}
 * with the sum over the last axis. Needs only the softmax output, not its input, so a causal
 * mask needs no special case: masked entries of y are 0 and so are their gradients.
 */
public record SoftmaxGrad(double scale) implements OpDef {

    @Override
    public String type() {
        return "softmax_grad";
    }

    @Override
    public List<TensorType> inferOutputs(List<TensorType> in) {
        arity(in, 2);
        floating(in.get(0), "dy");
        sameType(in.get(0), in.get(1));
        require(in.get(0).rank() >= 1, "dy must have at least one axis");
        return List.of(in.get(0));
    }

    @Override
    public Cost cost(List<TensorType> in, List<TensorType> out) {
        long n = in.get(0).shape().size();
        return Cost.of(4 * n, 3 * n * in.get(0).dtype().bytes());
    }

    /** Row-wise in both inputs, and linear in dy: a partial-sum dy with a broadcast y gives a partial dx. */
    @Override
    public List<SbpSignature> sbpSignatures(List<TensorType> in) {
        List<SbpSignature> sigs = new ArrayList<>(
                RowwiseSbp.signatures(in.get(0).rank() - 1, RowwiseSbp.allSplit(2), 1));
        sigs.add(SbpSignature.in(Sbp.partialSum(), Sbp.broadcast()).out(Sbp.partialSum()));
        return sigs;
    }
}
