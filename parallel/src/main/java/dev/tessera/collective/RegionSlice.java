package dev.tessera.collective;

import dev.tessera.graph.OpDef;
import dev.tessera.graph.Shape;
import dev.tessera.graph.TensorType;
import dev.tessera.ops.Checks;
import java.util.List;

/**
 * Cuts the box {@code [offsets, offsets + sizes)} out of a device's part, to send it to a device
 * of another placement (the piece of a send/recv that this device holds).
 */
public record RegionSlice(List<Integer> offsets, List<Integer> sizes) implements OpDef {

    public RegionSlice {
        offsets = List.copyOf(offsets);
        sizes = List.copyOf(sizes);
    }

    @Override
    public String type() {
        return "region_slice";
    }

    @Override
    public List<TensorType> inferOutputs(List<TensorType> in) {
        Checks.arity(in, 1);
        Shape shape = in.get(0).shape();
        Checks.require(offsets.size() == shape.rank() && sizes.size() == shape.rank(),
                "a box of rank " + offsets.size() + " cannot be cut from " + shape);
        for (int a = 0; a < shape.rank(); a++) {
            Checks.require(offsets.get(a) >= 0 && sizes.get(a) >= 0 && offsets.get(a) + sizes.get(a) <= shape.dim(a),
                    "the box at " + offsets + " of size " + sizes + " leaves " + shape);
        }
        return List.of(new TensorType(Shape.of(sizes.stream().mapToInt(Integer::intValue).toArray()), in.get(0).dtype()));
    }
}
