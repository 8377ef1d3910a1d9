package dev.tessera.deploy.checkpoint;

import dev.tessera.deploy.safetensors.SafeTensors;
import dev.tessera.deploy.safetensors.SafeTensorsFormatException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The checkpoints of one run, in {@code <run>/checkpoints/}:
 *
 * <pre>
 * checkpoints/ckpt-200/model.safetensors      parameters
 *                     /optimizer.safetensors  optimizer state
 *                     /manifest.json          step, seed, config hash, next batch, file sizes and SHA-256
 * checkpoints/latest                          "ckpt-200": the newest complete checkpoint
 * </pre>
 *
 * A checkpoint is built in a temporary folder, fsynced, renamed into place, and only then named by
 * {@code latest} (itself replaced atomically), so a crash at any moment leaves the previous
 * checkpoint intact and pointed to.
 */
public final class CheckpointStore {
    public static final String MODEL_FILE = "model.safetensors";
    public static final String OPTIMIZER_FILE = "optimizer.safetensors";
    public static final String MANIFEST_FILE = "manifest.json";
    static final String LATEST_FILE = "latest";
    private static final String PREFIX = "ckpt-";
    private static final String TEMP_PREFIX = ".tmp-";

    private final Path directory;
    private final int keep;

    /** @param keep how many of the newest checkpoints to keep (at least 1) */
    public CheckpointStore(Path runDirectory, int keep) {
        if (keep < 1) {
            throw new IllegalArgumentException("checkpoint.keep must be at least 1, got " + keep);
        }
        this.directory = runDirectory.resolve("checkpoints");
        this.keep = keep;
    }

    public Path directory() {
        return directory;
    }

    /** The folder of the checkpoint after {@code step} iterations. */
    public Path pathOf(long step) {
        return directory.resolve(PREFIX + step);
    }

    /**
     * Writes {@code checkpoint} atomically, points {@code latest} at it and deletes checkpoints
     * beyond the newest {@code keep}.
     *
     * @return the checkpoint's folder
     * @throws UncheckedIOException when a file cannot be written
     */
    public Path save(Checkpoint checkpoint) {
        try {
            Files.createDirectories(directory);
            Path temp = directory.resolve(TEMP_PREFIX + PREFIX + checkpoint.step());
            deleteRecursively(temp);
            Files.createDirectory(temp);
            Map<String, String> metadata = Map.of("step", Long.toString(checkpoint.step()), "producer", "tessera");
            SafeTensors.write(temp.resolve(MODEL_FILE), checkpoint.parameters(), metadata);
            SafeTensors.write(temp.resolve(OPTIMIZER_FILE), checkpoint.optimizerState(), metadata);
            Map<String, Manifest.FileEntry> files = new LinkedHashMap<>();
            for (String name : List.of(MODEL_FILE, OPTIMIZER_FILE)) {
                Path file = temp.resolve(name);
                AtomicFiles.fsync(file);
                files.put(name, new Manifest.FileEntry(Files.size(file), sha256(file)));
            }
            Manifest manifest = new Manifest(checkpoint.step(), checkpoint.seed(), checkpoint.configHash(),
                    checkpoint.nextBatchIndex(), files);
            Files.write(temp.resolve(MANIFEST_FILE), manifest.toJson());
            AtomicFiles.fsync(temp.resolve(MANIFEST_FILE));
            AtomicFiles.fsyncDirectory(temp);

            Path target = pathOf(checkpoint.step());
            // A resumed run that reaches an old step again replaces that step's checkpoint.
            deleteRecursively(target);
            AtomicFiles.move(temp, target);
            AtomicFiles.fsyncDirectory(directory);
            AtomicFiles.write(directory.resolve(LATEST_FILE), (target.getFileName() + "\n").getBytes(StandardCharsets.UTF_8));
            prune(target);
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write checkpoint " + pathOf(checkpoint.step()) + ": " + e.getMessage(), e);
        }
    }

    /** Steps of the complete checkpoint folders present, oldest first. */
    public List<Long> steps() {
        if (!Files.isDirectory(directory)) {
            return List.of();
        }
        try (Stream<Path> entries = Files.list(directory)) {
            return entries.map(p -> p.getFileName().toString())
                    .filter(n -> n.startsWith(PREFIX) && n.substring(PREFIX.length()).chars().allMatch(Character::isDigit))
                    .map(n -> Long.parseLong(n.substring(PREFIX.length())))
                    .sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + directory + ": " + e.getMessage(), e);
        }
    }

    /** The folder {@code latest} names, or the newest checkpoint folder when the pointer is missing. */
    public Optional<Path> latest() {
        Path pointer = directory.resolve(LATEST_FILE);
        try {
            String name = Files.readString(pointer, StandardCharsets.UTF_8).trim();
            // Only a sibling checkpoint folder counts; anything else in the pointer is ignored.
            if (name.matches(PREFIX + "[0-9]+") && Files.isDirectory(directory.resolve(name))) {
                return Optional.of(directory.resolve(name));
            }
        } catch (NoSuchFileException e) {
            // no pointer yet: fall back to the folders themselves
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + pointer + ": " + e.getMessage(), e);
        }
        List<Long> steps = steps();
        return steps.isEmpty() ? Optional.empty() : Optional.of(pathOf(steps.get(steps.size() - 1)));
    }

    /**
     * Reads and verifies the checkpoint in {@code folder}.
     *
     * @throws CorruptCheckpointException naming the file, when a file is missing, has the wrong
     *     size or checksum, or is not valid safetensors; the message names an older checkpoint to
     *     resume from when one exists
     */
    public Checkpoint load(Path folder) {
        Manifest manifest = readManifest(folder);
        for (Map.Entry<String, Manifest.FileEntry> e : manifest.files().entrySet()) {
            verify(folder, e.getKey(), e.getValue());
        }
        for (String required : List.of(MODEL_FILE, OPTIMIZER_FILE)) {
            if (!manifest.files().containsKey(required)) {
                throw corrupt(folder, MANIFEST_FILE + " does not list " + required);
            }
        }
        try {
            return new Checkpoint(manifest.step(), manifest.seed(), manifest.configHash(), manifest.nextBatchIndex(),
                    SafeTensors.read(folder.resolve(MODEL_FILE)).tensors(),
                    SafeTensors.read(folder.resolve(OPTIMIZER_FILE)).tensors());
        } catch (SafeTensorsFormatException e) {
            throw corrupt(folder, e.getMessage());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read checkpoint " + folder + ": " + e.getMessage(), e);
        }
    }

    private Manifest readManifest(Path folder) {
        Path file = folder.resolve(MANIFEST_FILE);
        try {
            return Manifest.fromJson(Files.readAllBytes(file));
        } catch (NoSuchFileException e) {
            throw corrupt(folder, file + " is missing");
        } catch (IllegalArgumentException e) {
            throw corrupt(folder, file + " is " + e.getMessage());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    private void verify(Path folder, String name, Manifest.FileEntry expected) {
        Path file = folder.resolve(name);
        try {
            if (!Files.isRegularFile(file)) {
                throw corrupt(folder, file + " is missing");
            }
            long size = Files.size(file);
            if (size != expected.bytes()) {
                throw corrupt(folder, file + " is " + (size < expected.bytes() ? "truncated" : "too long") + " ("
                        + size + " bytes, the manifest says " + expected.bytes() + ")");
            }
            String actual = sha256(file);
            if (!actual.equals(expected.sha256())) {
                throw corrupt(folder, file + " fails its checksum (SHA-256 " + actual + ", the manifest says "
                        + expected.sha256() + ")");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    private CorruptCheckpointException corrupt(Path folder, String problem) {
        String older = olderThan(folder)
                .map(p -> "; the older checkpoint " + p + " exists: resume from it with --resume " + p)
                .orElse("; no older checkpoint exists");
        return new CorruptCheckpointException("checkpoint " + folder + " is corrupt: " + problem + older);
    }

    private Optional<Path> olderThan(Path folder) {
        String name = folder.getFileName().toString();
        long step = name.startsWith(PREFIX) ? parseOr(name.substring(PREFIX.length()), Long.MAX_VALUE) : Long.MAX_VALUE;
        List<Long> older = new ArrayList<>(steps().stream().filter(s -> s < step).toList());
        return older.isEmpty() ? Optional.empty() : Optional.of(folder.resolveSibling(PREFIX + older.get(older.size() - 1)));
    }

    private static long parseOr(String digits, long fallback) {
        try {
            return Long.parseLong(digits);
        } catch (NumberFormatException e) {
            return fallback;
        }
    }

    /**
     * Deletes checkpoints newer than {@code step}: after resuming from an older checkpoint they
     * belong to an abandoned trajectory and must not be mistaken for the newest state.
     */
    public void discardAfter(long step) {
        try {
            for (long s : steps()) {
                if (s > step) {
                    deleteRecursively(pathOf(s));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete checkpoints after step " + step + " in " + directory, e);
        }
    }

    private void prune(Path current) throws IOException {
        List<Long> steps = steps();
        for (int i = 0; i < steps.size() - keep; i++) {
            Path old = pathOf(steps.get(i));
            if (!old.equals(current)) {
                deleteRecursively(old);
            }
        }
    }

    /** Lower-case hex SHA-256 of a file's contents. */
    public static String sha256(Path file) throws IOException {
        MessageDigest digest = sha256Digest();
        byte[] buffer = new byte[1 << 16];
        try (InputStream in = Files.newInputStream(file)) {
            for (int n; (n = in.read(buffer)) > 0; ) {
                digest.update(buffer, 0, n);
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    static MessageDigest sha256Digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform provides SHA-256", e);
        }
    }

    private static void deleteRecursively(Path path) throws IOException {
        if (!Files.exists(path)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(path)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
