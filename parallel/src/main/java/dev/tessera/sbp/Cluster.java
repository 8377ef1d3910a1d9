package dev.tessera.sbp;

import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/** The devices that exist: how many each node has. Placements are checked against it. */
public record Cluster(List<Integer> devicesPerNode) {
    public Cluster {
        devicesPerNode = List.copyOf(devicesPerNode);
        for (int i = 0; i < devicesPerNode.size(); i++) {
            if (devicesPerNode.get(i) < 0) {
                throw new IllegalArgumentException("node " + i + " has a negative device count " + devicesPerNode.get(i));
            }
        }
    }

    /** {@code nodes} nodes with {@code devicesPerNode} devices each. */
    public static Cluster uniform(int nodes, int devicesPerNode) {
        return new Cluster(java.util.Collections.nCopies(nodes, devicesPerNode));
    }

    public boolean contains(DeviceId id) {
        return id.node() < devicesPerNode.size() && id.device() < devicesPerNode.get(id.node());
    }

    public int deviceCount() {
        return devicesPerNode.stream().mapToInt(Integer::intValue).sum();
    }

    /** Every device, node by node. */
    public Set<DeviceId> devices() {
        Set<DeviceId> all = new TreeSet<>(java.util.Comparator.comparingInt(DeviceId::node).thenComparingInt(DeviceId::device));
        for (int node = 0; node < devicesPerNode.size(); node++) {
            for (int d = 0; d < devicesPerNode.get(node); d++) {
                all.add(new DeviceId(node, d));
            }
        }
        return all;
    }

    @Override
    public String toString() {
        return "cluster of " + devicesPerNode.size() + " nodes with " + devicesPerNode + " devices";
    }
}
