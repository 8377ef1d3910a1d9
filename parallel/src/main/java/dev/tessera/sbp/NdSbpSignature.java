package dev.tessera.sbp;

import java.util.List;

/**
 * One way to run an op on a device hierarchy: the NdSbp of each input and output, formed from one
 * 1-D {@link SbpSignature} per hierarchy axis. Example on [2, 4], a data-parallel then
 * column-parallel linear: {@code [(S(0), B), (B, S(1))] -> [(S(0), S(1))]}.
 */
public record NdSbpSignature(List<NdSbp> inputs, List<NdSbp> outputs) {
    public NdSbpSignature {
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
    }

    /** The 1-D signature this one uses on hierarchy axis {@code axis}. */
    public SbpSignature onAxis(int axis) {
        return new SbpSignature(inputs.stream().map(s -> s.get(axis)).toList(),
                outputs.stream().map(s -> s.get(axis)).toList());
    }

    @Override
    public String toString() {
        return inputs + " -> " + outputs;
    }
}
