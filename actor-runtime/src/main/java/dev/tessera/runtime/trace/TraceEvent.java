package dev.tessera.runtime.trace;

import dev.tessera.runtime.plan.ActorSpec;
import dev.tessera.runtime.plan.Device;

/**
 * One recorded action.
 *
 * @param startNanos {@link System#nanoTime()} when the action started
 * @param endNanos   {@link System#nanoTime()} when it returned
 */
public record TraceEvent(Device device, ActorSpec actor, int microBatch, long iteration, long step,
                         long startNanos, long endNanos) {
    public long durationNanos() {
        return endNanos - startNanos;
    }
}
