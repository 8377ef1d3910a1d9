package dev.tessera.examples.data;

import dev.tessera.examples.data.IdxReader.IdxFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The Fashion-MNIST data set from its four gzipped IDX files. Pixels are kept as the file's
 * unsigned bytes (47 MB for the training set instead of 188 MB as floats) and scaled to [0, 1]
 * when a batch is copied out.
 */
public final class FashionMnist {
    /** Where Debian's package dataset-fashion-mnist installs the files. */
    public static final String DEFAULT_PATH = "/usr/share/datasets/fashion-mnist";
    public static final int CLASSES = 10;
    public static final int PIXELS = 28 * 28;

    /** One split: {@code count} images of {@link #PIXELS} unsigned bytes and their labels 0..9. */
    public record Split(String name, byte[] pixels, byte[] labels, int count) {
        /** Copies image {@code index} into {@code out} at {@code offset}, scaled to [0, 1]. */
        public void copyImage(int index, float[] out, int offset) {
            int base = index * PIXELS;
            for (int p = 0; p < PIXELS; p++) {
                out[offset + p] = (pixels[base + p] & 0xff) / 255f;
            }
        }

        public int label(int index) {
            return labels[index];
        }
    }

    private FashionMnist() {
    }

    /** The 60,000 training examples, or the first {@code limit} of them when limit > 0. */
    public static Split train(Path directory, int limit) {
        return load(directory, "train", limit);
    }

    /** The 10,000 test examples, or the first {@code limit} of them when limit > 0. */
    public static Split test(Path directory, int limit) {
        return load(directory, "t10k", limit);
    }

    /**
     * Loads {@code <prefix>-images-idx3-ubyte.gz} and {@code <prefix>-labels-idx1-ubyte.gz}.
     *
     * @throws IllegalArgumentException when a file is missing (saying how to install it) or corrupt
     */
    public static Split load(Path directory, String prefix, int limit) {
        Path imagesPath = directory.resolve(prefix + "-images-idx3-ubyte.gz");
        Path labelsPath = directory.resolve(prefix + "-labels-idx1-ubyte.gz");
        for (Path p : new Path[] {imagesPath, labelsPath}) {
            if (!Files.isRegularFile(p)) {
                throw new IllegalArgumentException("Fashion-MNIST file " + p + " not found: install it with"
                        + " `apt-get install dataset-fashion-mnist`, or set data.path to the directory holding"
                        + " the gzipped IDX files");
            }
        }
        IdxFile images = IdxReader.read(imagesPath, IdxReader.IMAGES_MAGIC);
        IdxFile labels = IdxReader.read(labelsPath, IdxReader.LABELS_MAGIC);
        if (images.dims()[1] != 28 || images.dims()[2] != 28) {
            throw new IllegalArgumentException("corrupt IDX file " + imagesPath + ": images are "
                    + images.dims()[1] + "x" + images.dims()[2] + ", expected 28x28");
        }
        if (images.count() != labels.count()) {
            throw new IllegalArgumentException("corrupt Fashion-MNIST data: " + imagesPath + " holds " + images.count()
                    + " images but " + labelsPath + " holds " + labels.count() + " labels");
        }
        byte[] labelBytes = labels.data();
        for (int i = 0; i < labelBytes.length; i++) {
            if ((labelBytes[i] & 0xff) >= CLASSES) {
                throw new IllegalArgumentException("corrupt IDX file " + labelsPath + ": label " + (labelBytes[i] & 0xff)
                        + " of example " + i + " is not a class 0.." + (CLASSES - 1));
            }
        }
        int count = limit > 0 ? Math.min(limit, images.count()) : images.count();
        byte[] pixels = images.data();
        if (count < images.count()) {
            pixels = Arrays.copyOf(pixels, count * PIXELS);
            labelBytes = Arrays.copyOf(labelBytes, count);
        }
        return new Split(prefix, pixels, labelBytes, count);
    }
}
