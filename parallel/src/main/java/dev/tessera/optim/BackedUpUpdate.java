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
 * An optimizer step taken before the global gradient norm is known (post-validation): inputs are
 * the step's own, then one rollback copy per tensor the step overwrites (parameter, then its
 * state, in the order of {@code update.mutatedInputs()}). It first copies each overwritten tensor
 * into its rollback copy, then runs the step. {@link ValidateUpdate} later keeps or undoes it.
 */
public record BackedUpUpdate(OptimizerUpdate update) implements OpDef {

    @Override
    public String type() {
        return "backed_up_" + update.type();
    }

    @Override
    public List<TensorType> inferOutputs(List<TensorType> in) {
        int own = update.inputCount();
        Checks.arity(in, own + update.mutatedInputs().size());
        checkRollbackCopies(update, in);
        return update.inferOutputs(in.subList(0, own));
    }

    /** The step's cost plus one read and one write of each overwritten tensor. */
    @Override
    public Cost cost(List<TensorType> in, List<TensorType> out) {
        Cost step = update.cost(in.subList(0, update.inputCount()), out);
        long copied = 0;
        for (int k : update.mutatedInputs()) {
            copied += 2 * in.get(k).shape().size() * in.get(k).dtype().bytes();
        }
        return Cost.of(step.flops(), step.bytes() + copied);
    }

    @Override
    public List<SbpSignature> sbpSignatures(List<TensorType> in) {
        return withRollbackCopies(update, update.sbpSignatures(in.subList(0, update.inputCount())), false);
    }

    @Override
    public List<Integer> mutatedInputs() {
        List<Integer> mutated = new ArrayList<>(update.mutatedInputs());
        for (int i = 0; i < update.mutatedInputs().size(); i++) {
            mutated.add(update.inputCount() + i);
        }
        return mutated;
    }

    /** Each rollback copy has the type of the tensor it keeps. */
    static void checkRollbackCopies(OptimizerUpdate update, List<TensorType> in) {
        List<Integer> mutated = update.mutatedInputs();
        for (int i = 0; i < mutated.size(); i++) {
            Checks.sameType(in.get(mutated.get(i)), in.get(update.inputCount() + i));
        }
    }

    /**
     * The step's signatures with each rollback copy laid out like the tensor it keeps and, when
     * {@code norm}, a whole scalar norm after them.
     */
    static List<SbpSignature> withRollbackCopies(OptimizerUpdate update, List<SbpSignature> own, boolean norm) {
        List<SbpSignature> sigs = new ArrayList<>(own.size());
        for (SbpSignature sig : own) {
            List<Sbp> inputs = new ArrayList<>(sig.inputs());
            for (int k : update.mutatedInputs()) {
                inputs.add(sig.inputs().get(k));
            }
            if (norm) {
                inputs.add(Sbp.broadcast());
            }
            sigs.add(new SbpSignature(inputs, sig.outputs()));
        }
        return sigs;
    }
}
