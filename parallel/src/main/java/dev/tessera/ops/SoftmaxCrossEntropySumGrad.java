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
import java.util.ArrayList;
import java.util.List;

/**
 * Backward of {@link SoftmaxCrossEntropySum}: inputs (dSum [], probabilities [..., V], labels
 * [...]), output {@code dlogits = (probabilities - onehot(label)) * dSum}; rows of ignored labels
 * get 0. Through the mean's {@link DivideByCount}, dSum is already {@code dLoss / count}.
 */
public record SoftmaxCrossEntropySumGrad() implements OpDef {

    @Override
    public String type() {
        return "softmax_cross_entropy_sum_grad";
    }

    @Override
    public List<TensorType> inferOutputs(List<TensorType> in) {
        arity(in, 3);
        TensorType dSum = in.get(0);
        TensorType probabilities = in.get(1);
        floating(probabilities, "probabilities");
        integer(in.get(2), "labels");
        require(dSum.rank() == 0 && dSum.dtype() == probabilities.dtype(),
                "dSum must be a scalar of dtype " + probabilities.dtype() + ", got " + dSum);
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

    /**
     * Row by row with dSum broadcast, so split rows give split dlogits; and linear in dSum, so a
     * partial-sum dSum with everything else broadcast gives partial dlogits.
     */
    @Override
    public List<SbpSignature> sbpSignatures(List<TensorType> in) {
        Sbp b = Sbp.broadcast();
        List<SbpSignature> sigs = new ArrayList<>();
        for (int axis = 0; axis < in.get(1).rank() - 1; axis++) {
            Sbp s = Sbp.split(axis);
            sigs.add(SbpSignature.in(b, s, s).out(s));
        }
        sigs.add(SbpSignature.uniform(3, 1, b));
        sigs.add(SbpSignature.in(Sbp.partialSum(), b, b).out(Sbp.partialSum()));
        return sigs;
    }

    @Override
    public boolean differentiable(int index) {
        return index != 2;
    }
}
