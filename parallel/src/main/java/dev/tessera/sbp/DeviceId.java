package dev.tessera.sbp;

/** One device of a cluster: the node (worker machine) it sits on and its index on that node. */
public record DeviceId(int node, int device) {
    public DeviceId {
        if (node < 0 || device < 0) {
            throw new IllegalArgumentException("device id " + node + ":" + device + " has a negative part");
        }
    }

    public static DeviceId of(int node, int device) {
        return new DeviceId(node, device);
    }

    /** Parses {@code node:device}, e.g. {@code 1:3}. */
    public static DeviceId parse(String text) {
        int colon = text.indexOf(':');
        if (colon < 0) {
            throw new IllegalArgumentException("device id '" + text + "' is not of the form node:device, e.g. 0:1");
        }
        try {
            return new DeviceId(Integer.parseInt(text.substring(0, colon).trim()),
                    Integer.parseInt(text.substring(colon + 1).trim()));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("device id '" + text + "' is not of the form node:device, e.g. 0:1");
        }
    }

    @Override
    public String toString() {
        return node + ":" + device;
    }
}
