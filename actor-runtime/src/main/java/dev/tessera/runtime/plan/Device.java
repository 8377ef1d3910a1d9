package dev.tessera.runtime.plan;

/**
 * One device of a plan: a serial executor for kernels. Every actor placed on a device runs on
 * that device's single thread, so two kernels of one device never run at the same time.
 *
 * @param index position in {@link Plan#devices()}, from 0
 * @param name  shown in errors and as the track name of traces, e.g. {@code "cpu:0"}
 */
public record Device(int index, String name) {
    public Device {
        if (index < 0) {
            throw new IllegalArgumentException("device index must be >= 0, got " + index);
        }
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("device " + index + " needs a non-blank name");
        }
    }
}
