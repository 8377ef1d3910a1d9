package dev.tessera.ops;

import dev.tessera.graph.Shape;
import dev.tessera.sbp.Sbp;
import dev.tessera.sbp.SbpSignature;
import java.util.ArrayList;
import java.util.List;

/** Shape arithmetic for ops that work along one axis (slice, concat, reductions, broadcast). */
final class Axes {
    private Axes() {
    }

    /** {@code shape} without axis {@code axis} (already normalized). */
    static Shape remove(Shape shape, int axis) {
        int[] dims = shape.toArray();
        int[] out = new int[dims.length - 1];
        for (int i = 0, j = 0; i < dims.length; i++) {
            if (i != axis) {
                out[j++] = dims[i];
            }
        }
        return Shape.of(out);
    }

    /** {@code shape} with a new axis of {@code size} at position {@code axis} (0..rank). */
    static Shape insert(Shape shape, int axis, int size) {
        int[] dims = shape.toArray();
        int[] out = new int[dims.length + 1];
        for (int i = 0, j = 0; i < out.length; i++) {
            out[i] = i == axis ? size : dims[j++];
        }
        return Shape.of(out);
    }

    /**
     * Signatures of a one-input op that works along {@code axis} only: a split of any other axis
     * passes through, as do broadcast and (the op being linear) partial sums.
     */
    static List<SbpSignature> alongAxis(int rank, int axis, int inputs) {
        List<SbpSignature> sigs = new ArrayList<>();
        for (int a = 0; a < rank; a++) {
            if (a != axis) {
                sigs.add(SbpSignature.uniform(inputs, 1, Sbp.split(a)));
            }
        }
        sigs.add(SbpSignature.uniform(inputs, 1, Sbp.broadcast()));
        sigs.add(SbpSignature.uniform(inputs, 1, Sbp.partialSum()));
        return sigs;
    }
}
