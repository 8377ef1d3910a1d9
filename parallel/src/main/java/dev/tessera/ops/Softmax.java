package dev.tessera.ops;

import static dev.tessera.ops.Checks.arity;
import static dev.tessera.ops.Checks.floating;
import static dev.tessera.ops.Checks.require;

import dev.tessera.graph.Cost;
import dev.tessera.graph.GradientBuilder;
import dev.tessera.graph.OpDef;
import dev.tessera.graph.TensorType;
import dev.tessera.sbp.SbpSignature;
import java.util.List;

/**
 * {@code softmax(scale * x)} over the last axis, computed stably (the row maximum is subtracted
 * before exponentiating).
 *
 * <p>With {@code causal} the input is [..., T, T] and row i keeps only columns j <= i: masked
 * entries get probability exactly 0. The scale folds attention's 1/sqrt(headDim) into this op
 * so that attention needs no separate scaling pass over its [B, H, T, T] scores.
 */
public record Softmax(boolean causal, double scale) implements OpDef {

    /** A plain (unscaled) softmax, causal or not. */
    public Softmax(boolean causal) {
        this(causal, 1.0);
    }

    public Softmax {
        if (!(scale > 0) || Double.isInfinite(scale)) {
            throw new IllegalArgumentException("softmax scale must be a positive finite number, got " + scale);
        }
    }

    @Override
    public String type() {
        return "softmax";
    }

    @Override
    public List<TensorType> inferOutputs(List<TensorType> in) {
        arity(in, 1);
        TensorType x = in.get(0);
        floating(x, "x");
        require(x.rank() >= 1, "x must have at least one axis");
        if (causal) {
            require(x.rank() >= 2 && x.shape().dim(-1) == x.shape().dim(-2),
                    "a causal softmax needs square [..., T, T] scores, got " + x.shape());
        }
        return List.of(x);
    }

    @Override
    public Cost cost(List<TensorType> in, List<TensorType> out) {
        long n = in.get(0).shape().size();
        return Cost.of(5 * n, 2 * n * in.get(0).dtype().bytes());
    }

    /** Rows never mix, so leading axes split; a causal mask depends on the row index, so rows stay whole. */
    @Override
    public List<SbpSignature> sbpSignatures(List<TensorType> in) {
        int r = in.get(0).rank();
        return RowwiseSbp.signatures(causal ? r - 2 : r - 1, RowwiseSbp.allSplit(1), 1);
    }

    @Override
    public void gradient(GradientBuilder g) {
        g.inputGrad(0, g.emit(new SoftmaxGrad(scale), g.outputGrad(0), g.output(0)));
    }
}
