package dev.tessera.sbp;

import java.util.List;

/**
 * One valid way to run an op distributed over one hierarchy axis: the SBP each input must have
 * and the SBP each output then has. Example, matmul {@code [S(1), S(0)] -> [P]}: each device
 * multiplies a column block of A by the matching row block of B, and the partial products sum to
 * the full result.
 */
public record SbpSignature(List<Sbp> inputs, List<Sbp> outputs) {
    public SbpSignature {
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
    }

    /** Starts a signature: {@code SbpSignature.in(split(0), broadcast()).out(split(0))}. */
    public static Builder in(Sbp... inputs) {
        return new Builder(List.of(inputs));
    }

    /** Every input and output with the same SBP (element-wise ops). */
    public static SbpSignature uniform(int inputs, int outputs, Sbp sbp) {
        return new SbpSignature(java.util.Collections.nCopies(inputs, sbp), java.util.Collections.nCopies(outputs, sbp));
    }

    public record Builder(List<Sbp> inputs) {
        public SbpSignature out(Sbp... outputs) {
            return new SbpSignature(inputs, List.of(outputs));
        }
    }

    @Override
    public String toString() {
        return inputs + " -> " + outputs;
    }
}
