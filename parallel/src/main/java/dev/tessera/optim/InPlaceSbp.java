package dev.tessera.optim;

import dev.tessera.sbp.Sbp;
import dev.tessera.sbp.SbpSignature;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The signatures of ops that update stored tensors element by element (gradient accumulation,
 * optimizer steps): every tensor input split the same way, or all whole, so each device updates
 * the part it stores. Scalar inputs (learning rate, step) are always whole. There is no partial
 * sum: a stored tensor is never partial, and the planner never boxes a tensor written in place.
 */
public final class InPlaceSbp {
    private InPlaceSbp() {
    }

    /**
     * @param rank    rank of the tensor inputs
     * @param tensors number of leading tensor inputs, all of the same shape
     * @param scalars number of scalar inputs after them
     */
    public static List<SbpSignature> signatures(int rank, int tensors, int scalars) {
        List<SbpSignature> sigs = new ArrayList<>();
        for (int axis = 0; axis < rank; axis++) {
            sigs.add(signature(tensors, scalars, Sbp.split(axis)));
        }
        sigs.add(signature(tensors, scalars, Sbp.broadcast()));
        return sigs;
    }

    private static SbpSignature signature(int tensors, int scalars, Sbp sbp) {
        List<Sbp> inputs = new ArrayList<>(Collections.nCopies(tensors, sbp));
        inputs.addAll(Collections.nCopies(scalars, Sbp.broadcast()));
        return new SbpSignature(inputs, List.of());
    }
}
