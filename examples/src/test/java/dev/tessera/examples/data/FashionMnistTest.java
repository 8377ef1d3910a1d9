package dev.tessera.examples.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FashionMnistTest {
    @TempDir
    Path dir;

    @Test
    void shouldScalePixelsToUnitIntervalAndKeepLabels() throws Exception {
        IdxFiles.writeSplit(dir, "train", 3);

        FashionMnist.Split split = FashionMnist.train(dir, 0);
        float[] image = new float[784 * 2];
        split.copyImage(2, image, 784);

        assertEquals(3, split.count());
        assertEquals(2 / 255f, image[784], 0);
        assertEquals(2 / 255f, image[784 * 2 - 1], 0);
        assertEquals(0f, image[0], 0);
        assertEquals(1, split.label(1));
    }

    @Test
    void shouldKeepOnlyTheFirstExamplesWhenLimited() throws Exception {
        IdxFiles.writeSplit(dir, "t10k", 5);

        FashionMnist.Split split = FashionMnist.test(dir, 2);

        assertEquals(2, split.count());
        assertEquals(2 * 784, split.pixels().length);
    }

    @Test
    void shouldSayHowToInstallTheDataWhenFilesAreMissing() {
        Path missing = dir.resolve("nowhere");

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> FashionMnist.train(missing, 0));

        assertTrue(e.getMessage().contains(missing.resolve("train-images-idx3-ubyte.gz").toString()), e.getMessage());
        assertTrue(e.getMessage().contains("apt-get install dataset-fashion-mnist"), e.getMessage());
        assertTrue(e.getMessage().contains("data.path"), e.getMessage());
        assertTrue(!e.getMessage().contains("\n"), "one line");
    }

    @Test
    void shouldRejectImageAndLabelCountsThatDiffer() throws Exception {
        IdxFiles.writeSplit(dir, "train", 4);
        IdxFiles.write(dir.resolve("train-labels-idx1-ubyte.gz"), IdxReader.LABELS_MAGIC, new int[] {3}, new byte[3]);

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> FashionMnist.train(dir, 0));

        assertTrue(e.getMessage().contains("4 images but"), e.getMessage());
        assertTrue(e.getMessage().contains("3 labels"), e.getMessage());
    }

    @Test
    void shouldRejectLabelsOutsideTheTenClasses() throws Exception {
        IdxFiles.writeSplit(dir, "train", 2);
        IdxFiles.write(dir.resolve("train-labels-idx1-ubyte.gz"), IdxReader.LABELS_MAGIC, new int[] {2}, new byte[] {1, 10});

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> FashionMnist.train(dir, 0));

        assertTrue(e.getMessage().contains("label 10 of example 1"), e.getMessage());
    }

    @Test
    void shouldReadTheInstalledTestSetWhenPresent() {
        Path installed = Path.of(FashionMnist.DEFAULT_PATH);
        Assumptions.assumeTrue(Files.isRegularFile(installed.resolve("t10k-images-idx3-ubyte.gz")),
                "dataset-fashion-mnist is not installed");

        FashionMnist.Split split = FashionMnist.test(installed, 0);

        assertEquals(10_000, split.count());
        int[] perClass = new int[10];
        for (int i = 0; i < split.count(); i++) {
            perClass[split.label(i)]++;
        }
        for (int c = 0; c < 10; c++) {
            assertEquals(1000, perClass[c], "class " + c);
        }
    }
}
