package dev.tessera.runtime.transport;

import dev.tessera.runtime.plan.Device;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * The bytes each device has sent, counted by the communicators of one run when a send
 * completes and by the transfers that move a tensor to another device. Indexed by {@link Device#index()}; what the cost model's byte figures are checked
 * against.
 */
public final class SentBytes {
    private final AtomicLongArray bytes;

    /** Counters for devices with indices {@code 0 .. devices - 1}. */
    public SentBytes(int devices) {
        this.bytes = new AtomicLongArray(devices);
    }

    /** Adds {@code count} bytes that {@code device} sent (a communicator's message, a transfer's payload). */
    public void add(Device device, long count) {
        bytes.addAndGet(device.index(), count);
    }

    /** Bytes {@code device} has sent so far. */
    public long of(Device device) {
        return bytes.get(device.index());
    }

    /** Sets every counter back to 0. */
    public void reset() {
        for (int i = 0; i < bytes.length(); i++) {
            bytes.set(i, 0);
        }
    }
}
