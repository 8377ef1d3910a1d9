package dev.tessera.runtime.trace;

import dev.tessera.runtime.plan.Device;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Writes a {@link Trace} as Chrome trace-event JSON, which Perfetto (ui.perfetto.dev) and
 * chrome://tracing open: one complete event ("ph":"X") per action, one track per device
 * (process 1, thread = device index, named after the device), times in microseconds from
 * the start of the run.
 */
public final class ChromeTraceWriter {
    private ChromeTraceWriter() {
    }

    public static void write(Trace trace, Path file) throws IOException {
        try (Writer writer = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            write(trace, writer);
        }
    }

    public static void write(Trace trace, Writer out) throws IOException {
        out.write("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n");
        out.write("{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,\"args\":{\"name\":\"tessera\"}}");
        for (Device device : trace.plan().devices()) {
            out.write(",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":" + device.index()
                    + ",\"args\":{\"name\":" + quote(device.name()) + "}}");
        }
        for (TraceEvent event : trace.events()) {
            out.write(",\n{\"name\":");
            out.write(quote(event.actor().op()));
            out.write(",\"cat\":");
            out.write(quote(event.actor().phaseLetter().isEmpty()
                    ? event.actor().kind().name().toLowerCase(Locale.ROOT) : event.actor().phaseLetter()));
            out.write(",\"ph\":\"X\",\"pid\":1,\"tid\":" + event.device().index());
            out.write(",\"ts\":" + micros(event.startNanos() - trace.originNanos()));
            out.write(",\"dur\":" + micros(event.durationNanos()));
            out.write(",\"args\":{\"actor\":" + quote(event.actor().name()) + ",\"phase\":"
                    + quote(event.actor().phaseLetter()) + ",\"microBatch\":" + event.microBatch()
                    + ",\"iteration\":" + event.iteration() + "}}");
        }
        out.write("\n]}\n");
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
