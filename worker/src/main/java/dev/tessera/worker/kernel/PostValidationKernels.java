package dev.tessera.worker.kernel;

import dev.tessera.optim.BackedUpUpdate;
import dev.tessera.optim.OptimizerUpdate;
import dev.tessera.optim.ValidateUpdate;
import java.util.Arrays;
import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Post-validation of optimizer steps: a step that first copies what it overwrites, and its
 * validation, which keeps it, redoes it with the clipped gradient, or undoes it. The redo runs
 * the same step kernel on the same values with the gradient scaled by the same factor as
 * {@link dev.tessera.optim.ClipByNorm}, so the result is bit for bit that of a step taken after
 * clipping.
 */
final class PostValidationKernels {
    private PostValidationKernels() {
    }

    static void register(KernelRegistry r) {
        r.register(BackedUpUpdate.class, (def, op) -> {
            Kernel step = r.create(def.update(), op);
            OptimizerUpdate update = def.update();
            INDArray[] stepInputs = new INDArray[update.inputCount()];
            return (in, out, ctx) -> {
                copy(update, in, true);
                System.arraycopy(in, 0, stepInputs, 0, stepInputs.length);
                step.run(stepInputs, out, ctx);
            };
        });
        r.register(ValidateUpdate.class, (def, op) -> {
            Kernel step = r.create(def.update(), op);
            return (in, out, ctx) -> validate(def, step, in, out, ctx);
        });
    }

    private static void validate(ValidateUpdate def, Kernel step, INDArray[] in, INDArray[] out, KernelContext ctx) {
        double norm = in[def.normInput()].getDouble(0);
        boolean clips = def.clipNorm() > 0 && norm > def.clipNorm();
        if (Double.isFinite(norm) && !clips) {
            return;
        }
        OptimizerUpdate update = def.update();
        copy(update, in, false);
        if (!Double.isFinite(norm)) {
            return;
        }
        INDArray[] redo = Arrays.copyOf(in, update.inputCount());
        int g = OptimizerUpdate.GRADIENT;
        // the gradient may be a buffer other ops still read: scale a copy
        redo[g] = in[g].dup();
        OptimizerKernels.clip(def.clipNorm(), redo[g], norm);
        try {
            step.run(redo, out, ctx);
        } finally {
            redo[g].close();
        }
    }

    /** Copies each overwritten tensor into its rollback copy ({@code save}), or back. */
    static void copy(OptimizerUpdate update, INDArray[] in, boolean save) {
        List<Integer> mutated = update.mutatedInputs();
        for (int i = 0; i < mutated.size(); i++) {
            INDArray kept = in[mutated.get(i)];
            INDArray copy = in[update.inputCount() + i];
            if (save) {
                copy.assign(kept);
            } else {
                kept.assign(copy);
            }
        }
    }
}
