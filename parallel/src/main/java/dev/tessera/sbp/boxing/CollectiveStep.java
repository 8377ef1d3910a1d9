package dev.tessera.sbp.boxing;

import dev.tessera.sbp.DeviceId;
import dev.tessera.sbp.NdSbp;
import dev.tessera.sbp.Placement;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A conversion of one hierarchy axis, {@code before.get(axis) -> after.get(axis)}, run once per
 * peer group: the devices that differ only in that axis's coordinate, in coordinate order. The
 * other axes keep their SBP.
 */
public record CollectiveStep(Conversion conversion, Placement placement, int hierarchyAxis, NdSbp before, NdSbp after,
        List<PeerGroup> groups) implements BoxingStep {

    /**
     * @param devices the group, in coordinate order along the step's hierarchy axis
     * @param tensorBytes bytes of the tensor the group holds together ({@code |T|} of the ring formulas)
     */
    public record PeerGroup(List<DeviceId> devices, long tensorBytes) {
        public PeerGroup {
            devices = List.copyOf(devices);
        }
    }

    public CollectiveStep {
        groups = List.copyOf(groups);
    }

    /** Bytes one device of {@code group} sends. */
    public double bytesPerDevice(PeerGroup group) {
        return conversion.bytesPerDevice(group.devices().size(), group.tensorBytes());
    }

    @Override
    public double totalBytes() {
        double total = 0;
        for (PeerGroup g : groups) {
            total += bytesPerDevice(g) * g.devices().size();
        }
        return total;
    }

    @Override
    public Map<DeviceId, Double> bytesByDevice() {
        Map<DeviceId, Double> bytes = new LinkedHashMap<>();
        for (PeerGroup g : groups) {
            double each = bytesPerDevice(g);
            for (DeviceId d : g.devices()) {
                bytes.merge(d, each, Double::sum);
            }
        }
        return bytes;
    }

    @Override
    public String toString() {
        return conversion + " on hierarchy axis " + hierarchyAxis + " " + before + " -> " + after + ", "
                + groups.size() + " group(s) of " + placement.axisSize(hierarchyAxis) + ", " + (long) totalBytes() + " bytes";
    }
}
