package dev.tessera.sbp;

/**
 * How one logical tensor is laid out over one axis of a device hierarchy: cut into pieces along
 * a tensor axis (Split), copied whole to every device (Broadcast), or held as per-device partial
 * values whose element-wise sum is the logical tensor (PartialSum).
 */
public sealed interface Sbp {
    record Split(int axis) implements Sbp {
        @Override
        public String toString() {
            return "S(" + axis + ")";
        }
    }

    record Broadcast() implements Sbp {
        @Override
        public String toString() {
            return "B";
        }
    }

    record PartialSum() implements Sbp {
        @Override
        public String toString() {
            return "P";
        }
    }

    static Sbp split(int axis) {
        return new Split(axis);
    }

    static Sbp broadcast() {
        return new Broadcast();
    }

    static Sbp partialSum() {
        return new PartialSum();
    }
}
