package dev.tessera.collective;

import dev.tessera.graph.OpDef;
import dev.tessera.graph.Shape;
import dev.tessera.graph.TensorType;
import dev.tessera.ops.Checks;
import java.util.List;

/**
 * Assembles a device's part of {@code shape} from the pieces a send/recv delivered: input
 * {@code i} is placed at {@code offsets.get(i)}. The pieces tile the part exactly (the boxing
 * table's send/recv gives every element of the receiver one sender).
 */
public record RegionJoin(Shape shape, List<List<Integer>> offsets) implements OpDef {

    public RegionJoin {
        offsets = offsets.stream().map(List::copyOf).toList();
    }

    @Override
    public String type() {
        return "region_join";
    }

    @Override
    public List<TensorType> inferOutputs(List<TensorType> in) {
        Checks.require(in.size() == offsets.size() && !in.isEmpty(), "expected " + offsets.size() + " pieces, got "
                + in.size());
        long elements = 0;
        for (int i = 0; i < in.size(); i++) {
            Shape piece = in.get(i).shape();
            List<Integer> at = offsets.get(i);
            Checks.require(in.get(i).dtype() == in.get(0).dtype(), "pieces of different dtypes: " + in);
            Checks.require(at.size() == shape.rank() && piece.rank() == shape.rank(),
                    "piece " + piece + " at " + at + " does not fit " + shape);
            for (int a = 0; a < shape.rank(); a++) {
                Checks.require(at.get(a) >= 0 && at.get(a) + piece.dim(a) <= shape.dim(a),
                        "piece " + piece + " at " + at + " does not fit " + shape);
            }
            elements += piece.size();
        }
        Checks.require(elements == shape.size(), "pieces hold " + elements + " elements but " + shape + " needs "
                + shape.size());
        return List.of(new TensorType(shape, in.get(0).dtype()));
    }
}
