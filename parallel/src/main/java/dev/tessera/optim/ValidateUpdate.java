package dev.tessera.optim;

import dev.tessera.graph.Cost;
import dev.tessera.graph.OpDef;
import dev.tessera.graph.TensorType;
import dev.tessera.ops.Checks;
import dev.tessera.sbp.SbpSignature;
import java.util.List;

/**
 * The validation of a {@link BackedUpUpdate} once the global gradient norm is known. Inputs are
 * the step's own, its rollback copies, then the norm (a scalar). When the norm is finite and
 * needs no clipping ({@code clipNorm <= 0}, or {@code norm <= clipNorm}) the step stands and
 * nothing is touched. Otherwise the overwritten tensors are restored from their copies; with a
 * finite norm the step is then redone with the gradient scaled by {@code clipNorm / (norm +
 * 1e-6)}, exactly as {@link ClipByNorm} scales it before a synchronised step; with a non-finite
 * norm it is left undone (the iteration fails, as it does before a synchronised step). The
 * gradient itself is not written: a gradient summed over devices reaches the update through a
 * conversion, and an input written in place is never converted.
 */
public record ValidateUpdate(OptimizerUpdate update, double clipNorm) implements OpDef {

    @Override
    public String type() {
        return "validate_" + update.type();
    }

    @Override
    public List<TensorType> inferOutputs(List<TensorType> in) {
        int own = update.inputCount();
        int copies = update.mutatedInputs().size();
        Checks.arity(in, own + copies + 1);
        BackedUpUpdate.checkRollbackCopies(update, in);
        Checks.require(in.get(own + copies).rank() == 0, "the gradient norm must be a scalar, got "
                + in.get(own + copies));
        return update.inferOutputs(in.subList(0, own));
    }

    /** Reading the norm; the rare redo is not charged. */
    @Override
    public Cost cost(List<TensorType> in, List<TensorType> out) {
        TensorType norm = in.get(in.size() - 1);
        return Cost.of(1, norm.dtype().bytes());
    }

    @Override
    public List<SbpSignature> sbpSignatures(List<TensorType> in) {
        return BackedUpUpdate.withRollbackCopies(update, update.sbpSignatures(in.subList(0, update.inputCount())), true);
    }

    @Override
    public List<Integer> mutatedInputs() {
        return update.mutatedInputs();
    }

    /** Index of the norm among the inputs. */
    public int normInput() {
        return update.inputCount() + update.mutatedInputs().size();
    }
}
