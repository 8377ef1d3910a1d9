package dev.tessera.ops;

import static dev.tessera.ops.Checks.require;

import dev.tessera.graph.GradientBuilder;
import dev.tessera.graph.TensorType;
import dev.tessera.sbp.Sbp;
import dev.tessera.sbp.SbpSignature;
import java.util.List;

/**
 * Inverted dropout: each element is zeroed with probability {@code p} and the rest scaled by
 * {@code 1 / (1 - p)}, so inference needs no rescaling. The keep mask is a pure function of
 * (seed, iteration, micro-batch, element index), so reruns and resumed runs are bit-identical and
 * the gradient ({@link DropoutGrad}) recomputes exactly the same mask instead of storing it. Two
 * dropout ops with the same seed draw the same mask; give each its own seed.
 */
public record Dropout(double p, long seed) implements UnaryElementwise {

    public Dropout {
        require(p >= 0 && p < 1, "dropout probability must be in [0, 1), got " + p);
    }

    @Override
    public String type() {
        return "dropout";
    }

    /**
     * Only whole tensors: the mask is indexed by the logical element index, so a split would need
     * each device's offset, which kernels do not know yet.
     */
    @Override
    public List<SbpSignature> sbpSignatures(List<TensorType> in) {
        return List.of(SbpSignature.in(Sbp.broadcast()).out(Sbp.broadcast()));
    }

    @Override
    public void gradient(GradientBuilder g) {
        g.inputGrad(0, g.emit(new DropoutGrad(p, seed), g.outputGrad(0)));
    }
}
