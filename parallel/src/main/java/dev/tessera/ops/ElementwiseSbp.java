package dev.tessera.ops;

import dev.tessera.sbp.Sbp;
import dev.tessera.sbp.SbpSignature;
import java.util.ArrayList;
import java.util.List;

/** The signatures of ops that work element by element: any split passes through, as does broadcast. */
final class ElementwiseSbp {
    private ElementwiseSbp() {
    }

    /**
     * @param linear whether the op is linear in all inputs together (sum), so partial sums pass
     *     through too; a product or a nonlinearity of partial sums is not the partial of the result
     */
    static List<SbpSignature> signatures(int rank, int inputs, boolean linear) {
        List<SbpSignature> sigs = new ArrayList<>();
        for (int axis = 0; axis < rank; axis++) {
            sigs.add(SbpSignature.uniform(inputs, 1, Sbp.split(axis)));
        }
        sigs.add(SbpSignature.uniform(inputs, 1, Sbp.broadcast()));
        if (linear) {
            sigs.add(SbpSignature.uniform(inputs, 1, Sbp.partialSum()));
        }
        return sigs;
    }
}
