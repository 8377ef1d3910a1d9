package dev.tessera.ops;

import static dev.tessera.ops.Checks.arity;
import static dev.tessera.ops.Checks.floating;
import static dev.tessera.ops.Checks.integer;
import static dev.tessera.ops.Checks.require;

import dev.tessera.graph.Cost;
import dev.tessera.graph.OpDef;
import dev.tessera.graph.TensorType;
import dev.tessera.sbp.Sbp;
import dev.tessera.sbp.SbpSignature;
import java.util.List;

/**
 * Backward of {@link SoftmaxCrossEntropy}: inputs (dLoss [], probabilities [..., V], labels
 * [...]), output {@code dlogits = (probabilities - onehot(label)) * dLoss / count}, where count
 * is the number of labels >= 0; rows of ignored labels get 0.
 */
public record SoftmaxCrossEntropyGrad() implements OpDef {

    @Override
    public String type() {
        return "softmax_cross_entropy_grad";
    }

    @Override
    public List<TensorType> inferOutputs(List<TensorType> in) {
        arity(in, 3);
        TensorType dLoss = in.get(0);
        TensorType probabilities = in.get(1);
        floating(probabilities, "probabilities");
        integer(in.get(2), "labels");
        require(dLoss.rank() == 0 && dLoss.dtype() == probabilities.dtype(),
                "dLoss must be a scalar of dtype " + probabilities.dtype() + ", got " + dLoss);
        require(probabilities.rank() >= 1, "probabilities must have a vocabulary axis");
        require(in.get(2).shape().equals(probabilities.shape().dropLast()),
                "labels must have the shape of probabilities without the vocabulary axis, "
                        + probabilities.shape().dropLast() + ", got " + in.get(2).shape());
        return List.of(probabilities);
    }

    @Override
    public Cost cost(List<TensorType> in, List<TensorType> out) {
        long n = in.get(1).shape().size();
        return Cost.of(2 * n, 2 * n * in.get(1).dtype().bytes() + in.get(2).shape().size() * 4);
    }

    /** Linear in dLoss: a partial-sum dLoss with everything else broadcast gives partial dlogits. */
    @Override
    public List<SbpSignature> sbpSignatures(List<TensorType> in) {
        Sbp b = Sbp.broadcast();
        return List.of(SbpSignature.uniform(3, 1, b),
                SbpSignature.in(Sbp.partialSum(), b, b).out(Sbp.partialSum()));
    }

    @Override
    public boolean differentiable(int index) {
        return index != 2;
    }
}
