package dev.tessera.worker.exec;

import java.util.List;

/**
 * The register memory of each device of an executor: the most bytes in use at once over its runs
 * so far (a register counts from its producer taking it until its last consumer released it),
 * the bytes of register buffers the device holds (compute outputs share buffers by liveness, so
 * this lies between the two other figures), and the plan's upper bound (every output's quota times
 * its payload size, as if no buffer were reused).
 *
 * @param devices the devices, as {@code node:device}
 * @param peakInUse per device, the measured peak
 * @param held per device, the register buffers it holds
 * @param allocated per device, the plan's registers without reuse
 */
public record RegisterUse(List<String> devices, long[] peakInUse, long[] held, long[] allocated) {
    public RegisterUse {
        devices = List.copyOf(devices);
        peakInUse = peakInUse.clone();
        held = held.clone();
        allocated = allocated.clone();
        if (peakInUse.length != devices.size() || held.length != devices.size()
                || allocated.length != devices.size()) {
            throw new IllegalArgumentException("register use of " + devices.size() + " devices needs as many "
                    + "figures, got " + peakInUse.length + ", " + held.length + " and " + allocated.length);
        }
    }

    @Override
    public long[] held() {
        return held.clone();
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
