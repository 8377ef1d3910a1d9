package dev.tessera.worker.transport;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * The directories of embedded media drivers: one per process, named
 * {@code tessera-aeron-<pid>-<nanos>} under the driver root, removed when the transport closes;
 * those of processes that no longer run (killed workers) are removed when the next one starts.
 * And the check that the root has room for the term buffers before a driver starts.
 */
public final class DriverDirectories {
    static final String PREFIX = "tessera-aeron-";

    private DriverDirectories() {
    }

    /** A fresh directory name for this process (not created: the driver creates it). */
    public static Path fresh(Path root) {
        return root.resolve(PREFIX + ProcessHandle.current().pid() + "-" + System.nanoTime());
    }

    /** The driver directories under {@code root} whose process is still running or is this one. */
    public static List<Path> live(Path root) {
        List<Path> live = new ArrayList<>();
        for (Path dir : all(root)) {
            if (ownerRuns(dir)) {
                live.add(dir);
            }
        }
        return live;
    }

    /**
     * Removes the directories of processes that no longer run.
     *
     * @return the directories removed
     */
    public static List<Path> removeStale(Path root) {
        List<Path> removed = new ArrayList<>();
        for (Path dir : all(root)) {
            if (!ownerRuns(dir)) {
                delete(dir);
                removed.add(dir);
            }
        }
        return removed;
    }

    /** Every directory under {@code root} with this transport's prefix, whoever owns it. */
    public static List<Path> all(Path root) {
        if (!Files.isDirectory(root)) {
            return List.of();
        }
        try (Stream<Path> entries = Files.list(root)) {
            return entries.filter(p -> p.getFileName().toString().startsWith(PREFIX)).toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list the driver root " + root, e);
        }
    }

    private static boolean ownerRuns(Path dir) {
        String rest = dir.getFileName().toString().substring(PREFIX.length());
        int dash = rest.indexOf('-');
        try {
            long pid = Long.parseLong(dash < 0 ? rest : rest.substring(0, dash));
            return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
        } catch (NumberFormatException e) {
            return true;
        }
    }

    static void delete(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove the driver directory " + dir, e);
        }
    }

    /**
     * Bytes the term buffers of one process need: each log is three terms, one per publication
     * and, over UDP, one per image; plus about 2 MiB for the driver's command and counter files.
     */
    public static long bytesNeeded(int termLength, int publications, int images) {
        return 3L * termLength * (publications + images) + 2L * 1024 * 1024;
    }

    /**
     * @throws IllegalStateException when the file system of {@code dir} has less usable space than
     *     {@code needed}, naming the space, the need and the settings to change
     */
    public static void checkSpace(Path dir, long needed, int termLength, int publications, int images) {
        Path existing = dir;
        while (existing != null && !Files.exists(existing)) {
            existing = existing.getParent();
        }
        if (existing == null) {
            return;
        }
        long usable;
        try {
            usable = Files.getFileStore(existing).getUsableSpace();
        } catch (IOException e) {
            return;
        }
        if (usable < needed) {
            throw new IllegalStateException("the Aeron transport needs " + mib(needed) + " MiB in " + existing
                    + " for its term buffers (3 x term length " + mib(termLength) + " MiB x " + (publications + images)
                    + " logs: " + publications + " publications, " + images + " images) but only " + mib(usable)
                    + " MiB are free; lower transport.aeron.term-length, free space there, enlarge it (docker: --shm-size), "
                    + "or set transport.aeron.driver-root to a larger directory");
        }
    }

    private static long mib(long bytes) {
        return (bytes + (1 << 20) - 1) >> 20;
    }
}
