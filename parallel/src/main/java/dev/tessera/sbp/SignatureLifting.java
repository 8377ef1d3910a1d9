package dev.tessera.sbp;

import dev.tessera.graph.OpDef;
import dev.tessera.graph.TensorType;
import java.util.ArrayList;
import java.util.List;

/**
 * Lifts an op's 1-D SBP signatures to a device hierarchy: one 1-D signature per hierarchy axis,
 * the input (output) NdSbp being the per-axis SBPs of that input (output). Each axis's
 * signature is applied to the tensors the earlier axes left, which is valid whenever the 1-D
 * signature is: a split keeps the op's math per part, and a partial sum only appears where the op
 * is linear in that input. Signatures are asked for with the logical input types, since ops carry
 * logical shapes in their attributes (a reshape's target).
 *
 * <p>Combinations are kept only if every device gets a non-empty part of every split tensor:
 * uneven splits are fine, but cutting 2 rows over 4 devices leaves devices idle and is never the
 * layout to choose. They are also kept only if {@link OpDef#acceptsLayout} accepts them on this
 * placement (a reshape's row split must give each device the same elements before and after).
 */
public final class SignatureLifting {
    private SignatureLifting() {
    }

    /**
     * The ND signatures of {@code op} with logical inputs {@code inputs} on {@code placement},
     * in the order of the op's 1-D signatures (axis 0 varying slowest). An axis of size 1 only
     * gets the all-Broadcast signature: on one device every layout holds the same data. An op
     * that declares no signature runs whole on every device (all Broadcast), which is always
     * valid because a replicated run computes the same everywhere.
     */
    public static List<NdSbpSignature> lift(OpDef op, List<TensorType> inputs, Placement placement) {
        List<TensorType> outputs = op.inferOutputs(inputs);
        SbpSignature replicated = SbpSignature.uniform(inputs.size(), outputs.size(), Sbp.broadcast());
        List<SbpSignature> declared = op.sbpSignatures(inputs);
        List<SbpSignature> oneAxis = declared.isEmpty() ? List.of(replicated) : declared;
        List<List<SbpSignature>> combinations = new ArrayList<>();
        combinations.add(List.of());
        for (int axis = 0; axis < placement.axes(); axis++) {
            List<SbpSignature> choices = placement.axisSize(axis) == 1 ? List.of(replicated) : oneAxis;
            List<List<SbpSignature>> next = new ArrayList<>(combinations.size() * choices.size());
            for (List<SbpSignature> prefix : combinations) {
                for (SbpSignature choice : choices) {
                    List<SbpSignature> extended = new ArrayList<>(prefix);
                    extended.add(choice);
                    next.add(extended);
                }
            }
            combinations = next;
        }
        List<NdSbpSignature> result = new ArrayList<>(combinations.size());
        for (List<SbpSignature> perAxis : combinations) {
            NdSbpSignature signature = combine(perAxis, inputs.size(), outputs.size());
            if (noEmptyParts(signature, inputs, outputs, placement)
                    && op.acceptsLayout(inputs, outputs, placement, signature)) {
                result.add(signature);
            }
        }
        return result;
    }

    private static boolean noEmptyParts(NdSbpSignature signature, List<TensorType> inputs, List<TensorType> outputs,
            Placement placement) {
        int last = placement.size() - 1;
        for (int i = 0; i < inputs.size(); i++) {
            if (inputs.get(i).shape().size() > 0
                    && Sharding.region(inputs.get(i).shape(), placement, signature.inputs().get(i), last).elements() == 0) {
                return false;
            }
        }
        for (int o = 0; o < outputs.size(); o++) {
            if (outputs.get(o).shape().size() > 0
                    && Sharding.region(outputs.get(o).shape(), placement, signature.outputs().get(o), last).elements() == 0) {
                return false;
            }
        }
        return true;
    }

    private static NdSbpSignature combine(List<SbpSignature> perAxis, int inputs, int outputs) {
        List<NdSbp> in = new ArrayList<>(inputs);
        for (int i = 0; i < inputs; i++) {
            List<Sbp> axes = new ArrayList<>(perAxis.size());
            for (SbpSignature s : perAxis) {
                axes.add(s.inputs().get(i));
            }
            in.add(new NdSbp(axes));
        }
        List<NdSbp> out = new ArrayList<>(outputs);
        for (int o = 0; o < outputs; o++) {
            List<Sbp> axes = new ArrayList<>(perAxis.size());
            for (SbpSignature s : perAxis) {
                axes.add(s.outputs().get(o));
            }
            out.add(new NdSbp(axes));
        }
        return new NdSbpSignature(in, out);
    }
}
