package dev.tessera.runtime.trace;

import dev.tessera.runtime.plan.Plan;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Every action of one run, per device. Buffers are sized for the whole run up front (each
 * actor acts once per step), so nothing is dropped unless the run was cut short by a failure.
 */
public final class Trace {
    private final Plan plan;
    private final int microBatches;
    private final long originNanos;
    private final DeviceTraceBuffer[] buffers;

    /** A trace sized for {@code steps} actions of every actor of the plan. */
    public Trace(Plan plan, int microBatches, long steps, long originNanos) {
        this.plan = plan;
        this.microBatches = microBatches;
        this.originNanos = originNanos;
        buffers = new DeviceTraceBuffer[plan.devices().size()];
        for (int device = 0; device < buffers.length; device++) {
            long capacity = steps * plan.actorCount(device);
            if (capacity > Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException("a trace of " + capacity + " actions on device "
                        + plan.devices().get(device).name() + " does not fit in memory; trace fewer steps");
            }
            buffers[device] = new DeviceTraceBuffer((int) capacity);
        }
    }

    public Plan plan() {
        return plan;
    }

    /** {@link System#nanoTime()} when the run started: time zero of the trace file. */
    public long originNanos() {
        return originNanos;
    }

    public DeviceTraceBuffer buffer(int device) {
        return buffers[device];
    }

    /** Number of actions recorded on every device. */
    public int size() {
        int size = 0;
        for (DeviceTraceBuffer buffer : buffers) {
            size += buffer.size();
        }
        return size;
    }

    /** Every recorded action, sorted by start time. */
    public List<TraceEvent> events() {
        List<TraceEvent> events = new ArrayList<>(size());
        for (int device = 0; device < buffers.length; device++) {
            DeviceTraceBuffer buffer = buffers[device];
            int size = buffer.size();
            for (int i = 0; i < size; i++) {
                long step = buffer.step(i);
                events.add(new TraceEvent(plan.devices().get(device), plan.actor(buffer.actor(i)),
                        (int) (step % microBatches), step / microBatches, step,
                        buffer.startNanos(i), buffer.endNanos(i)));
            }
        }
        events.sort(Comparator.comparingLong(TraceEvent::startNanos));
        return events;
    }
}
