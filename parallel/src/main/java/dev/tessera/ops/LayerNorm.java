package dev.tessera.ops;

import static dev.tessera.ops.Checks.arity;
import static dev.tessera.ops.Checks.floating;
import static dev.tessera.ops.Checks.require;

import dev.tessera.graph.Cost;
import dev.tessera.graph.GradientBuilder;
import dev.tessera.graph.OpDef;
import dev.tessera.graph.Tensor;
import dev.tessera.graph.TensorType;
import dev.tessera.sbp.Sbp;
import dev.tessera.sbp.SbpSignature;
import java.util.Arrays;
import java.util.List;

/**
 * Layer normalization over the last axis: inputs (x [..., N], scale [N], bias [N]), outputs
 * {@code y = (x - mean) * rstd * scale + bias} and, for backward, {@code mean} and
 * {@code rstd = 1 / sqrt(var + epsilon)}, both shaped like x without its last axis (the
 * variance is the biased one, divided by N).
 *
 * <p>The gradient is split the way 2-stage backpropagation needs: {@link LayerNormGradInput}
 * (dx, a B op) and {@link LayerNormGradWeight} (dscale and dbias, a W op that reads only dy, x
 * and the saved statistics, never the scale).
 */
public record LayerNorm(double epsilon) implements OpDef {

    public LayerNorm {
        if (!(epsilon > 0) || Double.isInfinite(epsilon)) {
            throw new IllegalArgumentException("layer-norm epsilon must be a positive finite number, got " + epsilon);
        }
    }

    @Override
    public String type() {
        return "layer_norm";
    }

    @Override
    public List<TensorType> inferOutputs(List<TensorType> in) {
        arity(in, 3);
        TensorType x = in.get(0);
        floating(x, "x");
        require(x.rank() >= 1, "x must have at least one axis");
        int n = x.shape().dim(-1);
        for (int i = 1; i <= 2; i++) {
            String what = i == 1 ? "scale" : "bias";
            TensorType w = in.get(i);
            require(w.rank() == 1 && w.shape().dim(0) == n,
                    what + " must be a vector as long as the last axis of x (" + n + "), got " + w.shape());
            require(w.dtype() == x.dtype(), what + " must have the dtype of x (" + x.dtype() + "), got " + w.dtype());
        }
        TensorType stats = new TensorType(x.shape().dropLast(), x.dtype());
        return List.of(x, stats, stats);
    }

    @Override
    public Cost cost(List<TensorType> in, List<TensorType> out) {
        long n = in.get(0).shape().size();
        long bytes = 2 * n * in.get(0).dtype().bytes() + 2 * out.get(1).shape().size() * in.get(0).dtype().bytes();
        return Cost.of(8 * n, bytes);
    }

    @Override
    public List<SbpSignature> sbpSignatures(List<TensorType> in) {
        return RowwiseSbp.signatures(in.get(0).rank() - 1,
                Arrays.asList(null, Sbp.broadcast(), Sbp.broadcast()), 3);
    }

    @Override
    public void gradient(GradientBuilder g) {
        Tensor dy = g.outputGrad(0);
        Tensor x = g.input(0);
        Tensor mean = g.output(1);
        Tensor rstd = g.output(2);
        if (g.requiresGrad(0)) {
            g.inputGrad(0, g.emit(new LayerNormGradInput(), dy, x, g.input(1), mean, rstd));
        }
        if (g.requiresGrad(1) || g.requiresGrad(2)) {
            List<Tensor> grads = g.emitAll(new LayerNormGradWeight(), dy, x, mean, rstd);
            if (g.requiresGrad(1)) {
                g.inputGrad(1, grads.get(0));
            }
            if (g.requiresGrad(2)) {
                g.inputGrad(2, grads.get(1));
            }
        }
    }
}
