package dev.tessera.runtime.trace;

import dev.tessera.runtime.plan.Device;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A job's traced actions on one clock, as {@link ChromeTraceWriter} writes them: one row (a
 * Chrome "process") per JVM that ran devices, its devices as the row's threads, and, for a
 * multi-process job, the coordinator's windows of each chunk of steps. Every time is a
 * {@link System#nanoTime()} of the JVM that writes the file; events recorded elsewhere were
 * moved onto that clock before they were added.
 *
 * @param originNanos time zero of the file
 */
public record TraceTimeline(long originNanos, List<Row> rows, List<Window> windows) {
    public TraceTimeline {
        rows = List.copyOf(rows);
        windows = List.copyOf(windows);
    }

    /**
     * The actions of one JVM.
     *
     * @param name    shown as the process's name, e.g. {@code worker-1 (pid 4711)}
     * @param devices its devices: a thread each, by device index
     * @param clock   how its clock was aligned to the writer's, when it is another process
     */
    public record Row(String name, List<Device> devices, List<TraceEvent> events, Optional<ClockOffset> clock) {
        public Row {
            devices = List.copyOf(devices);
            events = List.copyOf(events);
        }
    }

    /**
     * The coordinator waiting for one chunk of steps: from sending it to the workers until the
     * last answer arrived. Every worker's actions of those iterations lie inside it.
     */
    public record Window(long startNanos, long endNanos, long firstIteration, int iterations) {
    }

    /** Several runs of one plan in this JVM (e.g. the chunks of a training run): one row, times from the first. */
    public static TraceTimeline of(List<Trace> traces) {
        if (traces.isEmpty()) {
            throw new IllegalArgumentException("no trace to write");
        }
        List<TraceEvent> events = new ArrayList<>();
        for (Trace trace : traces) {
            events.addAll(trace.events());
        }
        Row row = new Row("tessera", traces.get(0).plan().devices(), events, Optional.empty());
        return new TraceTimeline(traces.get(0).originNanos(), List.of(row), List.of());
    }
}
