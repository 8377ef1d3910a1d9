package dev.tessera.ops;

import dev.tessera.sbp.Sbp;
import dev.tessera.sbp.SbpSignature;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Signatures of ops that work row by row over the last axis (softmax, layer norm): any leading
 * axis may be split, because rows never mix; the last axis must stay whole.
 */
final class RowwiseSbp {
    private RowwiseSbp() {
    }

    /**
     * @param splitAxes how many leading axes may be split (rank - 1 normally, fewer when an op
     *     also depends on the position along an axis, like a causal mask)
     * @param inputs the SBP of every input given the split axis, null entries meaning that
     *     input is split the same way; lets weights (layer-norm scale) stay broadcast
     * @param outputs number of outputs, all split like the rows
     */
    static List<SbpSignature> signatures(int splitAxes, List<Sbp> inputs, int outputs) {
        List<SbpSignature> sigs = new ArrayList<>();
        for (int axis = 0; axis < splitAxes; axis++) {
            List<Sbp> in = new ArrayList<>(inputs.size());
            for (Sbp s : inputs) {
                in.add(s == null ? Sbp.split(axis) : s);
            }
            sigs.add(new SbpSignature(in, Collections.nCopies(outputs, Sbp.split(axis))));
        }
        sigs.add(SbpSignature.uniform(inputs.size(), outputs, Sbp.broadcast()));
        return sigs;
    }

    /** {@code n} null entries: every input split like the rows. */
    static List<Sbp> allSplit(int n) {
        return Collections.nCopies(n, null);
    }
}
