package dev.tessera.deploy.launch;

import dev.tessera.proto.control.TraceEvents;
import dev.tessera.runtime.plan.Device;
import dev.tessera.runtime.trace.ClockOffset;
import dev.tessera.runtime.trace.TraceEvent;
import dev.tessera.runtime.trace.TraceTimeline;
import dev.tessera.worker.process.TraceChunks;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The coordinator's collection of a traced multi-process job: each worker's {@code TraceEvents}
 * of a chunk of steps are held until that worker's clock was probed after the chunk, then moved
 * onto the coordinator's clock and kept in the worker's row. Each chunk also leaves the
 * coordinator's window (from sending {@code RunSteps} to the last {@code StepsDone}). Time zero
 * is the start of the first window, as a one-process trace starts with its first run.
 *
 * <p>Why a probe per chunk: the error of an estimate is half its round trip (tens of microseconds
 * on loopback), and two hosts' clocks drift apart by up to some tens of microseconds a second, so
 * an estimate made next to the events it moves stays within about its own error.
 */
final class JobTrace {
    private final List<Device> devices;
    private final int microBatches;
    private final List<List<TraceEvents>> pending = new ArrayList<>();
    private final List<List<TraceEvent>> events = new ArrayList<>();
    private final ClockOffset[] clocks;
    private final List<TraceTimeline.Window> windows = new ArrayList<>();

    /** @param devices the plan's devices, by plan index */
    JobTrace(List<Device> devices, int microBatches, int processes) {
        this.devices = List.copyOf(devices);
        this.microBatches = microBatches;
        this.clocks = new ClockOffset[processes];
        for (int p = 0; p < processes; p++) {
            pending.add(new ArrayList<>());
            events.add(new ArrayList<>());
        }
    }

    /** A message of the chunk of steps under way; held until the worker's clock is known. */
    void received(int process, TraceEvents chunk) {
        pending.get(process).add(chunk);
    }

    /** How many messages of the chunk under way arrived from {@code process}. */
    int pendingChunks(int process) {
        return pending.get(process).size();
    }

    /**
     * The worker's clock as probed after the chunk: its held messages join its row on the
     * coordinator's clock. The row is labelled with the estimate of the largest error.
     */
    void aligned(int process, ClockOffset clock) {
        for (TraceEvents chunk : pending.get(process)) {
            events.get(process).addAll(TraceChunks.decode(chunk, devices, microBatches, clock));
        }
        pending.get(process).clear();
        clocks[process] = clocks[process] == null || clock.errorNanos() >= clocks[process].errorNanos()
                ? clock : clocks[process];
    }

    /** The coordinator's wait for a chunk of {@code iterations} steps from {@code firstIteration}. */
    void window(long startNanos, long endNanos, long firstIteration, int iterations) {
        windows.add(new TraceTimeline.Window(startNanos, endNanos, firstIteration, iterations));
    }

    /**
     * Every chunk so far, a row per worker named {@code names[p]} with the devices it owns, or
     * empty before the first chunk.
     *
     * @param processOfDevice the process of each plan device
     */
    Optional<TraceTimeline> timeline(String[] names, int[] processOfDevice) {
        if (windows.isEmpty()) {
            return Optional.empty();
        }
        List<TraceTimeline.Row> rows = new ArrayList<>();
        for (int p = 0; p < names.length; p++) {
            List<Device> own = new ArrayList<>();
            for (Device device : devices) {
                if (processOfDevice[device.index()] == p) {
                    own.add(device);
                }
            }
            rows.add(new TraceTimeline.Row(names[p], own, events.get(p), Optional.ofNullable(clocks[p])));
        }
        return Optional.of(new TraceTimeline(windows.get(0).startNanos(), rows, windows));
    }
}
