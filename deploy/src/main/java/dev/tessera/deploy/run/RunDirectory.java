package dev.tessera.deploy.run;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.tessera.deploy.InputException;
import dev.tessera.deploy.checkpoint.AtomicFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;

/**
 * The folder that holds everything about one run:
 *
 * <pre>
 * config.conf     the resolved config, every key with its value
 * metrics.jsonl   one JSON object per logged step and per evaluation
 * loss.png        loss against step, redrawn at each checkpoint and at the end
 * summary.json    steps, initial and final loss, throughput, wall time, parameters, final metrics
 * checkpoints/    see CheckpointStore
 * </pre>
 */
public final class RunDirectory {
    public static final String CONFIG_FILE = "config.conf";
    public static final String METRICS_FILE = "metrics.jsonl";
    public static final String CHART_FILE = "loss.png";
    public static final String SUMMARY_FILE = "summary.json";
    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss");
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final Path path;

    private RunDirectory(Path path) {
        this.path = path;
    }

    /** {@code runs/<model>-<yyyyMMdd-HHmmss>} under {@code base}, with a suffix if that name is taken. */
    public static Path defaultPath(Path base, String model, LocalDateTime now) {
        Path candidate = base.resolve(model + "-" + STAMP.format(now));
        for (int i = 2; Files.exists(candidate); i++) {
            candidate = base.resolve(model + "-" + STAMP.format(now) + "-" + i);
        }
        return candidate;
    }

    /**
     * A new run in {@code path}. The folder is created when the first file is written, so a run
     * that fails while the model is being set up leaves nothing behind.
     *
     * @throws InputException if {@code path} already holds a run (so one is never overwritten)
     */
    public static RunDirectory createFresh(Path path) {
        if (Files.exists(path.resolve(METRICS_FILE)) || Files.exists(path.resolve("checkpoints"))) {
            throw new InputException("run directory " + path + " already holds a run; continue it with --resume "
                    + path + ", or choose another --run-dir");
        }
        if (Files.exists(path) && !Files.isDirectory(path)) {
            throw new InputException("--run-dir " + path + " is a file, not a directory");
        }
        return new RunDirectory(path);
    }

    /**
     * An existing run to continue.
     *
     * @throws InputException if {@code path} is not a run directory
     */
    public static RunDirectory existing(Path path) {
        if (!Files.isDirectory(path) || !Files.exists(path.resolve(CONFIG_FILE))) {
            throw new InputException("cannot resume: " + path + " is not a run directory (it has no " + CONFIG_FILE + ")");
        }
        return new RunDirectory(path);
    }

    public Path path() {
        return path;
    }

    public Path metricsFile() {
        return path.resolve(METRICS_FILE);
    }

    /** Creates the folder if needed and writes {@code config.conf}, with a header saying how to repeat the run. */
    public void writeConfig(String renderedConfig, String modelDescription) {
        try {
            Files.createDirectories(path);
        } catch (IOException e) {
            throw new InputException("cannot create run directory " + path + ": " + e.getMessage());
        }
        String header = "# Resolved config of this run (" + modelDescription + ").\n"
                + "# Repeat it with: ./tessera train " + path.resolve(CONFIG_FILE) + "\n";
        write(CONFIG_FILE, (header + renderedConfig).getBytes(StandardCharsets.UTF_8));
    }

    /** Writes {@code summary.json} atomically; values in the map's order. */
    public void writeSummary(Map<String, ?> summary) {
        try {
            write(SUMMARY_FILE, JSON.writeValueAsBytes(summary));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot render " + SUMMARY_FILE, e);
        }
    }

    /** Redraws {@code loss.png}. */
    public void writeLossChart(String title, List<LossChart.Point> points) {
        try {
            LossChart.write(path.resolve(CHART_FILE), title, points);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + path.resolve(CHART_FILE) + ": " + e.getMessage(), e);
        }
    }

    /** A claim on a run directory. */
    @FunctionalInterface
    public interface Lock {
        /** Ends the claim. */
        void release();
    }

    /**
     * Claims the run for this process until the returned handle is closed, so two trainings never
     * interleave their checkpoints and logs. The operating system drops the claim if the process dies.
     *
     * @throws InputException when another process holds the run
     */
    public Lock lock() {
        Path file = path.resolve(".lock");
        try {
            Files.createDirectories(path);
            java.nio.channels.FileChannel channel = java.nio.channels.FileChannel.open(file,
                    java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE);
            java.nio.channels.FileLock lock;
            try {
                lock = channel.tryLock();
            } catch (java.nio.channels.OverlappingFileLockException e) {
                lock = null;
            }
            if (lock == null) {
                channel.close();
                throw new InputException("run directory " + path + " is in use by another training; wait for it to "
                        + "finish or choose another --run-dir");
            }
            return () -> {
                try {
                    channel.close();
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot release " + file + ": " + e.getMessage(), e);
                }
            };
        } catch (IOException e) {
            throw new UncheckedIOException("cannot lock " + file + ": " + e.getMessage(), e);
        }
    }

    private void write(String name, byte[] bytes) {
        try {
            AtomicFiles.write(path.resolve(name), bytes);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + path.resolve(name) + ": " + e.getMessage(), e);
        }
    }
}
