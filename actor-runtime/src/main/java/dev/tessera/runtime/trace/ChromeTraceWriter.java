package dev.tessera.runtime.trace;

import dev.tessera.runtime.plan.Device;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Writes a {@link Trace}, or a {@link TraceTimeline} of several processes, as Chrome trace-event
 * JSON, which Perfetto (ui.perfetto.dev) and chrome://tracing open: one complete event
 * ("ph":"X") per action, one process row per JVM that ran devices (pid 1, 2, ...), a thread per
 * device under it (thread = device index, named after the device), times in microseconds from
 * the timeline's origin. A multi-process job adds the coordinator's row (pid 0) with one event per
 * chunk of steps, and labels each worker's row with its clock alignment.
 */
public final class ChromeTraceWriter {
    private ChromeTraceWriter() {
    }

    public static void write(Trace trace, Path file) throws IOException {
        write(List.of(trace), file);
    }

    /** Several runs of one plan (e.g. the chunks of a training run) as one timeline. */
    public static void write(List<Trace> traces, Path file) throws IOException {
        write(TraceTimeline.of(traces), file);
    }

    public static void write(TraceTimeline timeline, Path file) throws IOException {
        try (Writer writer = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            write(timeline, writer);
        }
    }

    public static void write(Trace trace, Writer out) throws IOException {
        write(List.of(trace), out);
    }

    /**
     * Writes the events of every trace, times from the origin of the first; the device tracks
     * are those of the first trace's plan.
     *
     * @throws IllegalArgumentException when {@code traces} is empty
     */
    public static void write(List<Trace> traces, Writer out) throws IOException {
        write(TraceTimeline.of(traces), out);
    }

    /** Writes every row of the timeline, times from its origin. */
    public static void write(TraceTimeline timeline, Writer out) throws IOException {
        long origin = timeline.originNanos();
        out.write("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n");
        String separator = "";
        if (!timeline.windows().isEmpty()) {
            out.write("{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":0,\"args\":{\"name\":\"coordinator\"}},\n"
                    + "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":0,\"tid\":0,\"args\":{\"name\":\"steps\"}}");
            for (TraceTimeline.Window window : timeline.windows()) {
                out.write(",\n{\"name\":\"RunSteps\",\"cat\":\"coordinator\",\"ph\":\"X\",\"pid\":0,\"tid\":0");
                out.write(",\"ts\":" + micros(window.startNanos() - origin));
                out.write(",\"dur\":" + micros(window.endNanos() - window.startNanos()));
                out.write(",\"args\":{\"firstIteration\":" + window.firstIteration() + ",\"iterations\":"
                        + window.iterations() + "}}");
            }
            separator = ",\n";
        }
        for (int r = 0; r < timeline.rows().size(); r++) {
            TraceTimeline.Row row = timeline.rows().get(r);
            int pid = r + 1;
            out.write(separator + "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":" + pid
                    + ",\"args\":{\"name\":" + quote(row.name()) + "}}");
            separator = ",\n";
            if (row.clock().isPresent()) {
                ClockOffset clock = row.clock().get();
                out.write(",\n{\"name\":\"process_labels\",\"ph\":\"M\",\"pid\":" + pid + ",\"args\":{\"labels\":"
                        + quote("clock offset " + micros(clock.offsetNanos()) + " us, error at most "
                                + micros(clock.errorNanos()) + " us")
                        + ",\"clockOffsetNanos\":" + clock.offsetNanos() + ",\"clockErrorNanos\":" + clock.errorNanos()
                        + "}}");
            }
            for (Device device : row.devices()) {
                out.write(",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":" + pid + ",\"tid\":" + device.index()
                        + ",\"args\":{\"name\":" + quote(device.name()) + "}}");
            }
            for (TraceEvent event : row.events()) {
                writeEvent(event, pid, origin, out);
            }
        }
        out.write("\n]}\n");
    }

    private static void writeEvent(TraceEvent event, int pid, long origin, Writer out) throws IOException {
        out.write(",\n{\"name\":");
        out.write(quote(event.actor().op()));
        out.write(",\"cat\":");
        out.write(quote(event.actor().phaseLetter().isEmpty()
                ? event.actor().kind().name().toLowerCase(Locale.ROOT) : event.actor().phaseLetter()));
        out.write(",\"ph\":\"X\",\"pid\":" + pid + ",\"tid\":" + event.device().index());
        out.write(",\"ts\":" + micros(event.startNanos() - origin));
        out.write(",\"dur\":" + micros(event.durationNanos()));
        out.write(",\"args\":{\"actor\":" + quote(event.actor().name()) + ",\"phase\":"
                + quote(event.actor().phaseLetter()) + ",\"microBatch\":" + event.microBatch()
                + ",\"iteration\":" + event.iteration() + "}}");
    }

    /** Microseconds with nanosecond precision, as the format wants fractional microseconds. */
    private static String micros(long nanos) {
        long whole = nanos / 1000;
        long fraction = Math.abs(nanos % 1000);
        return (nanos < 0 && whole == 0 ? "-" : "") + whole + "." + String.format(Locale.ROOT, "%03d", fraction);
    }

    private static String quote(String text) {
        StringBuilder quoted = new StringBuilder(text.length() + 2).append('"');
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '"' -> quoted.append("\\\"");
                case '\\' -> quoted.append("\\\\");
                case '\n' -> quoted.append("\\n");
                case '\r' -> quoted.append("\\r");
                case '\t' -> quoted.append("\\t");
                default -> {
                    if (c < 0x20) {
                        quoted.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    } else {
                        quoted.append(c);
                    }
                }
            }
        }
        return quoted.append('"').toString();
    }
}
