package dev.tessera.examples.data;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * Reads the IDX format of (Fashion-)MNIST, gzipped: a 4-byte big-endian magic {@code 0x000008NN}
 * (0x08 = unsigned bytes, NN = number of dimensions), NN big-endian int32 sizes, then the bytes.
 * Every malformed file is reported as an {@link IllegalArgumentException} naming the file and
 * what is wrong, so the CLI can print it as one line.
 */
public final class IdxReader {
    /** Magic of an image file: unsigned bytes, 3 dimensions (count, rows, columns). */
    public static final int IMAGES_MAGIC = 0x00000803;
    /** Magic of a label file: unsigned bytes, 1 dimension (count). */
    public static final int LABELS_MAGIC = 0x00000801;

    /** The contents of one IDX file: its dimensions and its unsigned bytes, row-major. */
    public record IdxFile(Path path, int[] dims, byte[] data) {
        public int count() {
            return dims[0];
        }

        /** Elements per item (e.g. 28*28 for images, 1 for labels). */
        public int itemSize() {
            int n = 1;
            for (int i = 1; i < dims.length; i++) {
                n *= dims[i];
            }
            return n;
        }
    }

    private IdxReader() {
    }

    /**
     * Reads a gzipped IDX file whose magic must be {@code expectedMagic}.
     *
     * @throws IllegalArgumentException when the file is missing, not gzip, has another magic,
     *     unreasonable dimensions, or fewer or more data bytes than its header declares
     */
    public static IdxFile read(Path path, int expectedMagic) {
        try (InputStream raw = Files.newInputStream(path);
                DataInputStream in = new DataInputStream(new GZIPInputStream(new BufferedInputStream(raw), 1 << 16))) {
            int magic = readHeaderInt(in, path, "magic number");
            if (magic != expectedMagic) {
                throw corrupt(path, String.format("bad magic number 0x%08x, expected 0x%08x", magic, expectedMagic));
            }
            int rank = magic & 0xff;
            int[] dims = new int[rank];
            long total = 1;
            for (int i = 0; i < rank; i++) {
                dims[i] = readHeaderInt(in, path, "size of dimension " + i);
                if (dims[i] < 0) {
                    throw corrupt(path, "negative size " + dims[i] + " for dimension " + i);
                }
                total *= dims[i];
                if (total > Integer.MAX_VALUE - 16) {
                    throw corrupt(path, "declared sizes " + Arrays.toString(Arrays.copyOf(dims, i + 1)) + " are too large");
                }
            }
            byte[] data = in.readNBytes((int) total);
            if (data.length < total) {
                throw corrupt(path, "truncated: header declares " + Arrays.toString(dims) + " = " + total
                        + " bytes of data, file has " + data.length);
            }
            if (in.read() != -1) {
                throw corrupt(path, "longer than its header declares (" + Arrays.toString(dims) + " = " + total + " bytes)");
            }
            return new IdxFile(path, dims, data);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("data file " + path + " not found");
        } catch (ZipException e) {
            throw corrupt(path, "not a valid gzip file (" + e.getMessage() + ")");
        } catch (EOFException e) {
            throw corrupt(path, "truncated gzip stream");
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read IDX file " + path + ": " + e);
        }
    }

    private static int readHeaderInt(DataInputStream in, Path path, String what) throws IOException {
        try {
            return in.readInt();
        } catch (EOFException e) {
            throw corrupt(path, "truncated header: file ends before the " + what);
        }
    }

    private static IllegalArgumentException corrupt(Path path, String what) {
        return new IllegalArgumentException("corrupt IDX file " + path + ": " + what);
    }
}
