package dev.tessera.sbp;

import dev.tessera.graph.Shape;
import dev.tessera.graph.TensorType;

/**
 * Which part of a logical tensor each device of a placement holds under an {@link NdSbp}. For
 * each hierarchy axis in order, a Split(a) narrows tensor axis a to the device's part of a
 * balanced partition of what the earlier axes left: the first {@code size % parts} parts get
 * one element more, so 10 rows on 4 devices are 3, 3, 2, 2. Broadcast and PartialSum keep the
 * region whole (a partial sum has the full shape; its values differ).
 */
public final class Sharding {
    private Sharding() {
    }

    /** Start of part {@code index} of {@code size} elements cut into {@code parts} balanced parts. */
    public static int partStart(int size, int parts, int index) {
        int base = size / parts;
        int extra = size % parts;
        return index * base + Math.min(index, extra);
    }

    /** Length of part {@code index} of {@code size} elements cut into {@code parts} balanced parts. */
    public static int partLength(int size, int parts, int index) {
        return size / parts + (index < size % parts ? 1 : 0);
    }

    /** The region of the logical tensor that the device at {@code rank} holds. */
    public static Region region(Shape logical, Placement placement, NdSbp sbp, int rank) {
        int[] coords = placement.coordinates(rank);
        Region region = Region.whole(logical);
        for (int axis = 0; axis < sbp.size(); axis++) {
            if (sbp.get(axis) instanceof Sbp.Split split) {
                int parts = placement.axisSize(axis);
                int size = region.size(split.axis());
                region = region.narrow(split.axis(), partStart(size, parts, coords[axis]),
                        partLength(size, parts, coords[axis]));
            }
        }
        return region;
    }

    /** The local shape of the device at {@code rank}. */
    public static Shape localShape(Shape logical, Placement placement, NdSbp sbp, int rank) {
        return region(logical, placement, sbp, rank).shape();
    }

    /** The local type of the device at {@code rank}. */
    public static TensorType localType(TensorType logical, Placement placement, NdSbp sbp, int rank) {
        return new TensorType(localShape(logical.shape(), placement, sbp, rank), logical.dtype());
    }
}
