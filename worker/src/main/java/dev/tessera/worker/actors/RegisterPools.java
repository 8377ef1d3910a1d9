package dev.tessera.worker.actors;

import java.util.Map;
import java.util.TreeMap;

/** One {@link RegisterPool} per device of an executor, by the device's index in the plan; closed with it. */
final class RegisterPools implements AutoCloseable {
    private final Map<Integer, RegisterPool> byDevice = new TreeMap<>();

    synchronized RegisterPool on(int device) {
        return byDevice.computeIfAbsent(device, d -> new RegisterPool());
    }

    /** Per device index, the bytes of the activation buffers it created (its register memory with reuse). */
    synchronized Map<Integer, Long> createdBytes() {
        Map<Integer, Long> out = new TreeMap<>();
        byDevice.forEach((device, pool) -> out.put(device, pool.createdBytes()));
        return out;
    }

    @Override
    public synchronized void close() {
        byDevice.values().forEach(RegisterPool::close);
        byDevice.clear();
    }
}
