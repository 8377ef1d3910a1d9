package dev.tessera.examples.data;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPOutputStream;

/** Writes small gzipped IDX files for tests. */
final class IdxFiles {
    private IdxFiles() {
    }

    static Path write(Path path, int magic, int[] dims, byte[] data) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeInt(magic);
            for (int d : dims) {
                out.writeInt(d);
            }
            out.write(data);
        }
        writeGzip(path, bytes.toByteArray());
        return path;
    }

    static void writeGzip(Path path, byte[] content) throws IOException {
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(path))) {
            out.write(content);
        }
    }

    /** A tiny Fashion-MNIST-shaped split: image i has every pixel = i, label i % 10. */
    static void writeSplit(Path dir, String prefix, int count) throws IOException {
        byte[] pixels = new byte[count * 784];
        byte[] labels = new byte[count];
        for (int i = 0; i < count; i++) {
            Arrays.fill(pixels, i * 784, (i + 1) * 784, (byte) i);
            labels[i] = (byte) (i % 10);
        }
        write(dir.resolve(prefix + "-images-idx3-ubyte.gz"), IdxReader.IMAGES_MAGIC, new int[] {count, 28, 28}, pixels);
        write(dir.resolve(prefix + "-labels-idx1-ubyte.gz"), IdxReader.LABELS_MAGIC, new int[] {count}, labels);
    }
}
