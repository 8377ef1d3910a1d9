package dev.tessera.deploy.run;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code metrics.jsonl}: one JSON object per line, each with a {@code step}. Training lines carry
 * {@code loss}; evaluation lines carry the model's metrics. Lines are flushed as written so a
 * crashed run keeps its history.
 */
public final class MetricsLog implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Path file;
    private final BufferedWriter out;

    /** Opens {@code file} for appending, creating it if needed. */
    public MetricsLog(Path file) {
        this.file = file;
        try {
            this.out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open " + file + ": " + e.getMessage(), e);
        }
    }

    public Path file() {
        return file;
    }

    /** Appends one line; values are numbers or strings, in the order given. */
    public void append(Map<String, ?> line) {
        try {
            out.write(JSON.writeValueAsString(line));
            out.newLine();
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        try {
            out.close();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot close " + file + ": " + e.getMessage(), e);
        }
    }

    /** Every line of {@code file} (none if it does not exist); a torn last line from a crash is skipped. */
    public static List<Map<String, Object>> read(Path file) {
        List<Map<String, Object>> lines = new ArrayList<>();
        if (!Files.exists(file)) {
            return lines;
        }
        try {
            for (String text : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                if (text.isBlank()) {
                    continue;
                }
                try {
                    lines.add(JSON.readValue(text, new TypeReference<LinkedHashMap<String, Object>>() { }));
                } catch (IOException e) {
                    break;
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
        return lines;
    }

    /**
     * Rewrites {@code file} without the lines after {@code step}: a resumed run repeats those steps,
     * and the log must read as one uninterrupted run.
     */
    public static void truncateAfter(Path file, long step) {
        List<String> kept = new ArrayList<>();
        for (Map<String, Object> line : read(file)) {
            if (line.get("step") instanceof Number n && n.longValue() <= step) {
                try {
                    kept.add(JSON.writeValueAsString(line));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        }
        try {
            dev.tessera.deploy.checkpoint.AtomicFiles.write(file,
                    (kept.isEmpty() ? "" : String.join("\n", kept) + "\n").getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot rewrite " + file + ": " + e.getMessage(), e);
        }
    }
}
