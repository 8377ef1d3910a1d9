package dev.tessera.optim;

import dev.tessera.graph.Cost;
import dev.tessera.graph.OpDef;
import dev.tessera.graph.TensorType;
import dev.tessera.ops.Checks;
import dev.tessera.sbp.Sbp;
import dev.tessera.sbp.SbpSignature;
import java.util.ArrayList;
import java.util.List;

/**
 * Global-norm clipping of one gradient: inputs gradient and the global norm (a scalar from
 * {@link GlobalNorm}); when {@code norm > maxNorm} the gradient is scaled in place by
 * {@code maxNorm / (norm + 1e-6)}. The norm is whole on every device, so each device scales
 * the part of the gradient it stores.
 */
public record ClipByNorm(double maxNorm) implements OpDef {
    public ClipByNorm {
        if (!(maxNorm > 0)) {
            throw new IllegalArgumentException("clip_norm must be > 0 to clip, got " + maxNorm
                    + "; leave the clip op out to only measure the norm");
        }
    }

    @Override
    public String type() {
        return "clip_by_norm";
    }

    @Override
    public List<TensorType> inferOutputs(List<TensorType> in) {
        Checks.arity(in, 2);
        Checks.floating(in.get(0), "gradient");
        Checks.require(in.get(1).rank() == 0, "the norm must be a scalar, got " + in.get(1));
        return List.of();
    }

    /** One multiply per element (at most). */
    @Override
    public Cost cost(List<TensorType> in, List<TensorType> out) {
        TensorType g = in.get(0);
        return Cost.of(g.shape().size(), 2 * g.shape().size() * g.dtype().bytes());
    }

    @Override
    public List<SbpSignature> sbpSignatures(List<TensorType> in) {
        List<SbpSignature> sigs = new ArrayList<>();
        for (int axis = 0; axis < in.get(0).rank(); axis++) {
            sigs.add(SbpSignature.in(Sbp.split(axis), Sbp.broadcast()).out());
        }
        sigs.add(SbpSignature.in(Sbp.broadcast(), Sbp.broadcast()).out());
        // scaling is linear: a partial accumulator is clipped part by part
        sigs.add(SbpSignature.in(Sbp.partialSum(), Sbp.broadcast()).out());
        return sigs;
    }

    @Override
    public List<Integer> mutatedInputs() {
        return List.of(0);
    }
}
