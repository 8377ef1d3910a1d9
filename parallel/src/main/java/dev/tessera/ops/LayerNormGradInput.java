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
import java.util.Arrays;
import java.util.List;

/**
 * The input gradient of {@link LayerNorm} (a B op): inputs (dy, x, scale, mean, rstd), output
 * {@code dx = rstd * (g - mean(g) - xhat * mean(g * xhat))} with {@code g = dy * scale},
 * {@code xhat = (x - mean) * rstd} and means over the last axis.
 */
public record LayerNormGradInput() implements OpDef {

    @Override
    public String type() {
        return "layer_norm_grad_input";
    }

    @Override
    public List<TensorType> inferOutputs(List<TensorType> in) {
        arity(in, 5);
        TensorType dy = in.get(0);
        floating(dy, "dy");
        sameType(dy, in.get(1));
        require(dy.rank() >= 1, "dy must have at least one axis");
        TensorType vector = new TensorType(Shape.of(dy.shape().dim(-1)), dy.dtype());
        require(in.get(2).equals(vector), "scale must be " + vector + ", got " + in.get(2));
        TensorType stats = new TensorType(dy.shape().dropLast(), dy.dtype());
        require(in.get(3).equals(stats) && in.get(4).equals(stats),
                "mean and rstd must be " + stats + ", got " + in.get(3) + " and " + in.get(4));
        return List.of(dy);
    }

    @Override
    public Cost cost(List<TensorType> in, List<TensorType> out) {
        long n = in.get(0).shape().size();
        return Cost.of(10 * n, 3 * n * in.get(0).dtype().bytes());
    }

    /** Row-wise, with the scale broadcast; linear in dy, so a partial dy gives a partial dx. */
    @Override
    public List<SbpSignature> sbpSignatures(List<TensorType> in) {
        Sbp b = Sbp.broadcast();
        List<SbpSignature> sigs = new ArrayList<>(RowwiseSbp.signatures(in.get(0).rank() - 1,
                Arrays.asList(null, null, b, null, null), 1));
        sigs.add(SbpSignature.in(Sbp.partialSum(), b, b, b, b).out(Sbp.partialSum()));
        return sigs;
    }
}
