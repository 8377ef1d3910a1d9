package dev.tessera.sbp;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Devices arranged as a hierarchy, e.g. 8 devices as [8] or as [2, 4] (2 data-parallel groups
 * of 4 tensor-parallel devices). The device at hierarchy coordinate (i, j) of [2, 4] is the one
 * at rank {@code i * 4 + j} of the device list (row-major); an {@link NdSbp} gives one SBP per
 * hierarchy axis. Immutable.
 */
public final class Placement {
    private final List<DeviceId> devices;
    private final int[] hierarchy;
    private final Map<DeviceId, Integer> ranks = new HashMap<>();

    private Placement(List<DeviceId> devices, int[] hierarchy) {
        this.devices = List.copyOf(devices);
        this.hierarchy = hierarchy.clone();
        if (hierarchy.length == 0) {
            throw new IllegalArgumentException("a placement needs at least one hierarchy axis, e.g. ["
                    + devices.size() + "] for devices " + devices);
        }
        long product = 1;
        for (int size : hierarchy) {
            if (size < 1) {
                throw new IllegalArgumentException("hierarchy " + Arrays.toString(hierarchy)
                        + " has an axis of size " + size + "; every axis needs at least one device");
            }
            product *= size;
        }
        if (product != devices.size()) {
            throw new IllegalArgumentException("hierarchy " + Arrays.toString(hierarchy) + " holds " + product
                    + " devices but the placement lists " + devices.size() + " (" + devices
                    + "); make the product of the hierarchy sizes equal the number of devices");
        }
        for (int rank = 0; rank < this.devices.size(); rank++) {
            Integer previous = ranks.put(this.devices.get(rank), rank);
            if (previous != null) {
                throw new IllegalArgumentException("device " + this.devices.get(rank) + " appears twice in placement "
                        + this.devices + " (ranks " + previous + " and " + rank + "); list each device once");
            }
        }
    }

    /** The devices in rank order, arranged row-major as {@code hierarchy}. */
    public static Placement of(List<DeviceId> devices, int... hierarchy) {
        return new Placement(devices, hierarchy);
    }

    /** Devices 0..n-1 of node 0, where n is the product of the hierarchy sizes. */
    public static Placement onNode(int node, int... hierarchy) {
        int n = Arrays.stream(hierarchy).reduce(1, (a, b) -> a * b);
        List<DeviceId> list = new ArrayList<>(n);
        for (int d = 0; d < n; d++) {
            list.add(new DeviceId(node, d));
        }
        return new Placement(list, hierarchy);
    }

    /**
     * Checks that every device exists in {@code cluster}.
     *
     * @throws IllegalArgumentException naming the first device that does not
     */
    public Placement requireIn(Cluster cluster) {
        for (DeviceId id : devices) {
            if (!cluster.contains(id)) {
                throw new IllegalArgumentException("placement " + this + " uses device " + id + ", which does not exist in the "
                        + cluster + "; place the tensor on devices the cluster has, or describe the missing node or device in the cluster");
            }
        }
        return this;
    }

    public List<DeviceId> devices() {
        return devices;
    }

    public int size() {
        return devices.size();
    }

    public int[] hierarchy() {
        return hierarchy.clone();
    }

    /** Number of hierarchy axes. */
    public int axes() {
        return hierarchy.length;
    }

    /** Size of hierarchy axis {@code axis}. */
    public int axisSize(int axis) {
        return hierarchy[axis];
    }

    public DeviceId device(int rank) {
        return devices.get(rank);
    }

    public boolean contains(DeviceId id) {
        return ranks.containsKey(id);
    }

    /** The rank of {@code id} in this placement; throws if it is not in it. */
    public int rank(DeviceId id) {
        Integer rank = ranks.get(id);
        if (rank == null) {
            throw new IllegalArgumentException("device " + id + " is not in placement " + this);
        }
        return rank;
    }

    /** The hierarchy coordinate of {@code rank} (row-major). */
    public int[] coordinates(int rank) {
        int[] coords = new int[hierarchy.length];
        for (int axis = hierarchy.length - 1; axis >= 0; axis--) {
            coords[axis] = rank % hierarchy[axis];
            rank /= hierarchy[axis];
        }
        return coords;
    }

    /** The rank at hierarchy coordinate {@code coords}. */
    public int rankAt(int... coords) {
        if (coords.length != hierarchy.length) {
            throw new IllegalArgumentException("coordinate " + Arrays.toString(coords) + " does not have one entry per axis of hierarchy "
                    + Arrays.toString(hierarchy));
        }
        int rank = 0;
        for (int axis = 0; axis < hierarchy.length; axis++) {
            if (coords[axis] < 0 || coords[axis] >= hierarchy[axis]) {
                throw new IllegalArgumentException("coordinate " + Arrays.toString(coords) + " is outside hierarchy " + Arrays.toString(hierarchy));
            }
            rank = rank * hierarchy[axis] + coords[axis];
        }
        return rank;
    }

    /**
     * The peer groups of hierarchy axis {@code axis}: sets of ranks that differ only in that
     * axis's coordinate, each in coordinate order. A collective over that axis runs once per group.
     */
    public List<int[]> peerGroups(int axis) {
        int size = hierarchy[axis];
        List<int[]> groups = new ArrayList<>(devices.size() / size);
        for (int rank = 0; rank < devices.size(); rank++) {
            int[] coords = coordinates(rank);
            if (coords[axis] != 0) {
                continue;
            }
            int[] group = new int[size];
            for (int c = 0; c < size; c++) {
                coords[axis] = c;
                group[c] = rankAt(coords);
            }
            groups.add(group);
        }
        return groups;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Placement p && devices.equals(p.devices) && Arrays.equals(hierarchy, p.hierarchy);
    }

    @Override
    public int hashCode() {
        return devices.hashCode() * 31 + Arrays.hashCode(hierarchy);
    }

    @Override
    public String toString() {
        return devices + " as " + Arrays.toString(hierarchy);
    }
}
