package dev.tessera.runtime.trace;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * The actions of one device, in the order they ran: preallocated columns written by the
 * device's single thread, so recording an action allocates nothing and takes no lock. Actions
 * beyond the capacity are counted as dropped instead of recorded.
 */
public final class DeviceTraceBuffer {
    private final int[] actors;
    private final long[] steps;
    private final long[] starts;
    private final long[] ends;
    private int count;
    private long dropped;
    /** Written after each record (release), read by {@link #size()} (acquire): publishes the columns. */
    private final AtomicInteger published = new AtomicInteger();

    public DeviceTraceBuffer(int capacity) {
        actors = new int[capacity];
        steps = new long[capacity];
        starts = new long[capacity];
        ends = new long[capacity];
    }

    /** Records one action; call only from the device's thread. */
    public void record(int actor, long step, long startNanos, long endNanos) {
        if (count == actors.length) {
            dropped++;
            return;
        }
        actors[count] = actor;
        steps[count] = step;
        starts[count] = startNanos;
        ends[count] = endNanos;
        count++;
        published.lazySet(count);
    }

    /** Number of actions recorded and visible to the calling thread. */
    public int size() {
        return published.get();
    }

    public int actor(int index) {
        return actors[index];
    }

    public long step(int index) {
        return steps[index];
    }

    public long startNanos(int index) {
        return starts[index];
    }

    public long endNanos(int index) {
        return ends[index];
    }

    /** Actions not recorded because the buffer was full; read after the run ended. */
    public long dropped() {
        return dropped;
    }
}
