package dev.tessera.ops;

import static dev.tessera.sbp.Sbp.broadcast;
import static dev.tessera.sbp.Sbp.partialSum;

import dev.tessera.sbp.SbpSignature;
import java.util.ArrayList;
import java.util.List;

/**
 * The signatures of element-wise backward ops {@code f(dy, saved)} that are linear in the incoming
 * gradient {@code dy} but not in the saved forward tensor (ReluGrad, GeluGrad, TanhGrad): a
 * partial-sum gradient times a whole saved tensor is a partial-sum result.
 */
final class ElementwiseGradSbp {
    private ElementwiseGradSbp() {
    }

    static List<SbpSignature> signatures(int rank) {
        List<SbpSignature> sigs = new ArrayList<>(ElementwiseSbp.signatures(rank, 2, false));
        sigs.add(SbpSignature.in(partialSum(), broadcast()).out(partialSum()));
        return sigs;
    }
}
