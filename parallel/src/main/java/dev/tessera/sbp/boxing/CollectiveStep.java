package dev.tessera.sbp.boxing;

import dev.tessera.graph.TensorType;
import dev.tessera.sbp.DeviceId;
import dev.tessera.sbp.NdSbp;
import dev.tessera.sbp.Placement;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A conversion of one hierarchy axis, {@code before.get(axis) -> after.get(axis)}, run once per
 * peer group: the devices that differ only in that axis's coordinate, in coordinate order. The
 * other axes keep their SBP. {@code algorithm} is the one chosen for the step (from its largest
 * group's tensor, {@link CollectiveAlgorithm#choose}); every group runs it, and the bytes below
 * are its exact figures ({@link CollectiveBytes}).
 */
public record CollectiveStep(Conversion conversion, Placement placement, int hierarchyAxis, NdSbp before, NdSbp after,
        List<PeerGroup> groups, CollectiveAlgorithm algorithm) implements BoxingStep {

    /**
     * @param devices the group, in coordinate order along the step's hierarchy axis
     * @param type the tensor the group holds together ({@code |T|} of the ring formulas)
     */
    public record PeerGroup(List<DeviceId> devices, TensorType type) {
        public PeerGroup {
            devices = List.copyOf(devices);
        }

        /** Bytes of the tensor the group holds together. */
        public long tensorBytes() {
            return type.shape().size() * type.dtype().bytes();
        }
    }

    public CollectiveStep {
        groups = List.copyOf(groups);
    }

    /** What each member of {@code group} holds before and after, and how it sums: the step's semantics. */
    public GroupParts parts(PeerGroup group) {
        return GroupParts.of(conversion, before.get(hierarchyAxis), after.get(hierarchyAxis), group.type().shape(),
                group.devices().size());
    }

    /** Bytes member {@code member} (its coordinate on the step's axis) of {@code group} sends. */
    public long bytesSentBy(PeerGroup group, int member) {
        return CollectiveBytes.sentBy(parts(group), algorithm, member, group.type().dtype().bytes());
    }

    @Override
    public double totalBytes() {
        double total = 0;
        for (PeerGroup g : groups) {
            for (int i = 0; i < g.devices().size(); i++) {
                total += bytesSentBy(g, i);
            }
        }
        return total;
    }

    @Override
    public Map<DeviceId, Double> bytesByDevice() {
        Map<DeviceId, Double> bytes = new LinkedHashMap<>();
        for (PeerGroup g : groups) {
            for (int i = 0; i < g.devices().size(); i++) {
                bytes.merge(g.devices().get(i), (double) bytesSentBy(g, i), Double::sum);
            }
        }
        return bytes;
    }

    @Override
    public String toString() {
        return conversion + " (" + algorithm.name().toLowerCase(java.util.Locale.ROOT) + ") on hierarchy axis "
                + hierarchyAxis + " " + before + " -> " + after + ", " + groups.size() + " group(s) of "
                + placement.axisSize(hierarchyAxis) + ", " + (long) totalBytes() + " bytes";
    }
}
