package dev.tessera.worker.exec;

import java.util.List;

/**
 * The register memory of each device of an executor: the most bytes in use at once over its runs
 * so far (a register counts from its producer taking it until its last consumer released it),
 * and what its plan allocates (every output's quota times its payload size).
 *
 * @param devices the devices, as {@code node:device}
 * @param peakInUse per device, the measured peak
 * @param allocated per device, the plan's registers
 */
public record RegisterUse(List<String> devices, long[] peakInUse, long[] allocated) {
    public RegisterUse {
        devices = List.copyOf(devices);
        peakInUse = peakInUse.clone();
        allocated = allocated.clone();
        if (peakInUse.length != devices.size() || allocated.length != devices.size()) {
            throw new IllegalArgumentException("register use of " + devices.size() + " devices needs as many "
                    + "figures, got " + peakInUse.length + " and " + allocated.length);
        }
    }

    @Override
    public long[] peakInUse() {
        return peakInUse.clone();
    }

    @Override
    public long[] allocated() {
        return allocated.clone();
    }
}
