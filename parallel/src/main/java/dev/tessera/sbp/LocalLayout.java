package dev.tessera.sbp;

import dev.tessera.graph.TensorType;
import java.util.List;

/**
 * What one device of a placement holds of an op's logical inputs and outputs under a chosen
 * signature: the logical types, and the region of each that the device owns (the whole tensor
 * for Broadcast and PartialSum). Given to {@link dev.tessera.graph.OpDef#onDevice} so an op whose
 * attributes carry logical sizes can say how it runs on a part.
 */
public record LocalLayout(List<TensorType> logicalInputs, List<Region> inputRegions, List<TensorType> logicalOutputs,
        List<Region> outputRegions) {

    public LocalLayout {
        logicalInputs = List.copyOf(logicalInputs);
        inputRegions = List.copyOf(inputRegions);
        logicalOutputs = List.copyOf(logicalOutputs);
        outputRegions = List.copyOf(outputRegions);
    }

    /** The local type of input {@code i}. */
    public TensorType localInput(int i) {
        return new TensorType(inputRegions.get(i).shape(), logicalInputs.get(i).dtype());
    }

    /** The local type of output {@code o}. */
    public TensorType localOutput(int o) {
        return new TensorType(outputRegions.get(o).shape(), logicalOutputs.get(o).dtype());
    }
}
