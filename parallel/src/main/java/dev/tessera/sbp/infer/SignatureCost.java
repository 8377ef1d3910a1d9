package dev.tessera.sbp.infer;

import dev.tessera.graph.OpDef;
import dev.tessera.graph.TensorType;
import dev.tessera.sbp.NdSbp;
import dev.tessera.sbp.NdSbpSignature;
import dev.tessera.sbp.Placement;
import dev.tessera.sbp.Sharding;
import dev.tessera.sbp.boxing.BoxingCost;
import java.util.ArrayList;
import java.util.List;

/**
 * What running an op with one ND signature costs, given the layouts its inputs arrive in: the
 * bytes that boxing the inputs into the signature's layouts sends (from the boxing table, per
 * device, the busiest device counting) and the FLOPs of the op's share on the busiest device.
 * The share is the op's own cost on that device's local shapes, so splits divide the work while
 * Broadcast and PartialSum inputs (full-sized on every device) do not.
 */
public record SignatureCost(double boxingBytesPerDevice, double boxingBytesTotal, double flopsPerDevice, double seconds) {

    /**
     * @param inputNames names of the inputs, for boxing error messages
     * @param arriving the layout each input arrives in, null for a tensor not laid out yet (a
     *     parameter or input without a hint, which takes whatever the signature wants)
     */
    public static SignatureCost of(OpDef op, List<String> inputNames, List<TensorType> inputs, List<TensorType> outputs,
            NdSbpSignature signature, List<NdSbp> arriving, Placement placement, CostModel model) {
        return of(op, inputNames, inputs, outputs, signature, arriving, new BoxingCache(placement), model);
    }

    /** The same, asking {@code boxing} (and so its placement) for the conversions' bytes. */
    public static SignatureCost of(OpDef op, List<String> inputNames, List<TensorType> inputs, List<TensorType> outputs,
            NdSbpSignature signature, List<NdSbp> arriving, BoxingCache boxing, CostModel model) {
        Placement placement = boxing.placement();
        double perDevice = 0;
        double total = 0;
        int collectives = 0;
        int locals = 0;
        for (int i = 0; i < inputs.size(); i++) {
            NdSbp from = arriving.get(i);
            if (from != null && !from.equals(signature.inputs().get(i))) {
                BoxingCost cost = boxing.cost(inputNames.get(i), inputs.get(i), from, signature.inputs().get(i));
                perDevice += cost.maxBytesPerDevice();
                total += cost.totalBytes();
                if (cost.totalBytes() > 0) {
                    collectives++;
                } else {
                    locals++;
                }
            }
        }
        double flops = localFlops(op, inputs, outputs, signature, placement);
        return new SignatureCost(perDevice, total, flops, flops / model.flopsPerSecond()
                + model.communicationSeconds(perDevice, collectives) + locals * model.localConversionSeconds());
    }

    /** FLOPs of the op on the device at rank 0, which holds the largest part of every balanced split. */
    static double localFlops(OpDef op, List<TensorType> inputs, List<TensorType> outputs, NdSbpSignature signature,
            Placement placement) {
        List<TensorType> localIn = new ArrayList<>(inputs.size());
        for (int i = 0; i < inputs.size(); i++) {
            localIn.add(Sharding.localType(inputs.get(i), placement, signature.inputs().get(i), 0));
        }
        List<TensorType> localOut = new ArrayList<>(outputs.size());
        for (int o = 0; o < outputs.size(); o++) {
            localOut.add(Sharding.localType(outputs.get(o), placement, signature.outputs().get(o), 0));
        }
        return op.cost(localIn, localOut).flops();
    }
}
