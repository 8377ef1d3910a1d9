package dev.tessera.runtime;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * The bytes of registers in use on each device during one run: a register counts from the moment
 * its producer takes it to act until the last consumer acknowledged it, by its output's
 * {@link dev.tessera.runtime.plan.OutputSpec#bytes()}. Keeps each device's peak. Updated from
 * every device thread.
 */
final class RegisterMemory {
    private final AtomicLongArray live;
    private final AtomicLongArray peak;

    RegisterMemory(int devices) {
        live = new AtomicLongArray(devices);
        peak = new AtomicLongArray(devices);
    }

    void taken(int device, long bytes) {
        if (bytes != 0) {
            long now = live.addAndGet(device, bytes);
            peak.accumulateAndGet(device, now, Math::max);
        }
    }

    void freed(int device, long bytes) {
        if (bytes != 0) {
            live.addAndGet(device, -bytes);
        }
    }

    /** Per device index of the plan, the most bytes in use at once. */
    long[] peaks() {
        long[] out = new long[peak.length()];
        for (int d = 0; d < out.length; d++) {
            out[d] = peak.get(d);
        }
        return out;
    }
}
