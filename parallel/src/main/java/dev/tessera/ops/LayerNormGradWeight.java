package dev.tessera.ops;

import static dev.tessera.ops.Checks.arity;
import static dev.tessera.ops.Checks.floating;
import static dev.tessera.ops.Checks.require;
import static dev.tessera.ops.Checks.sameType;

import dev.tessera.graph.Cost;
import dev.tessera.graph.OpDef;
import dev.tessera.graph.Shape;
import dev.tessera.graph.TensorType;
import dev.tessera.sbp.Sbp;
import dev.tessera.sbp.SbpSignature;
import java.util.ArrayList;
import java.util.List;

/**
 * The weight gradients of {@link LayerNorm} (a W op): inputs (dy, x, mean, rstd), outputs
 * {@code dscale = sum(dy * xhat)} and {@code dbias = sum(dy)}, summed over every axis but the
 * last, with {@code xhat = (x - mean) * rstd}. It reads nothing a B op produces, so a schedule
 * may delay it freely.
 */
public record LayerNormGradWeight() implements OpDef {

    @Override
    public String type() {
        return "layer_norm_grad_weight";
    }

    @Override
    public List<TensorType> inferOutputs(List<TensorType> in) {
        arity(in, 4);
        TensorType dy = in.get(0);
        floating(dy, "dy");
        sameType(dy, in.get(1));
        require(dy.rank() >= 1, "dy must have at least one axis");
        TensorType stats = new TensorType(dy.shape().dropLast(), dy.dtype());
        require(in.get(2).equals(stats) && in.get(3).equals(stats),
                "mean and rstd must be " + stats + ", got " + in.get(2) + " and " + in.get(3));
        TensorType vector = new TensorType(Shape.of(dy.shape().dim(-1)), dy.dtype());
        return List.of(vector, vector);
    }

    @Override
    public Cost cost(List<TensorType> in, List<TensorType> out) {
        long n = in.get(0).shape().size();
        return Cost.of(4 * n, 2 * n * in.get(0).dtype().bytes());
    }

    /** Rows split over devices give partial sums of both gradients. */
    @Override
    public List<SbpSignature> sbpSignatures(List<TensorType> in) {
        List<SbpSignature> sigs = new ArrayList<>();
        for (int axis = 0; axis < in.get(0).rank() - 1; axis++) {
            Sbp s = Sbp.split(axis);
            sigs.add(SbpSignature.in(s, s, s, s).out(Sbp.partialSum(), Sbp.partialSum()));
        }
        sigs.add(SbpSignature.uniform(4, 2, Sbp.broadcast()));
        Sbp b = Sbp.broadcast();
        sigs.add(SbpSignature.in(Sbp.partialSum(), b, b, b).out(Sbp.partialSum(), Sbp.partialSum()));
        return sigs;
    }
}
