package dev.tessera.deploy.checkpoint;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Durable, all-or-nothing file updates: a reader sees the old file or the complete new one, even
 * after a crash or power loss, never a half-written one.
 */
public final class AtomicFiles {
    private AtomicFiles() {
    }

    /** Writes {@code bytes} to a temporary sibling, fsyncs it, renames it over {@code target} and fsyncs the folder. */
    public static void write(Path target, byte[] bytes) throws IOException {
        Path temp = target.resolveSibling("." + target.getFileName() + ".tmp");
        Files.write(temp, bytes);
        fsync(temp);
        move(temp, target);
        fsyncDirectory(target.toAbsolutePath().getParent());
    }

    /** Renames atomically, replacing an existing file (POSIX rename semantics). */
    public static void move(Path source, Path target) throws IOException {
        try {
            Files.move(source, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException("cannot rename " + source + " to " + target
                    + " atomically; keep the run directory on one local file system", e);
        }
    }

    /** Forces a file's contents to the device. */
    public static void fsync(Path file) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
            channel.force(true);
        }
    }

    /**
     * Forces a folder's entries (creations and renames) to the device. Some platforms cannot open
     * a folder for syncing; there the rename is as durable as the platform allows, so this is skipped.
     */
    public static void fsyncDirectory(Path directory) throws IOException {
        try (FileChannel channel = FileChannel.open(directory, StandardOpenOption.READ)) {
            channel.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            if (!System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT).contains("win")) {
                throw e instanceof IOException io ? io : new IOException(e);
            }
        }
    }
}
