package dev.tessera.examples.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdxReaderTest {
    @TempDir
    Path dir;

    @Test
    void shouldReadDimensionsAndBytesOfAnImageFile() throws Exception {
        byte[] data = new byte[2 * 3 * 4];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) (200 + i);
        }
        Path file = IdxFiles.write(dir.resolve("images.gz"), IdxReader.IMAGES_MAGIC, new int[] {2, 3, 4}, data);

        IdxReader.IdxFile idx = IdxReader.read(file, IdxReader.IMAGES_MAGIC);

        assertArrayEquals(new int[] {2, 3, 4}, idx.dims());
        assertEquals(2, idx.count());
        assertEquals(12, idx.itemSize());
        assertArrayEquals(data, idx.data());
    }

    @Test
    void shouldRejectBadMagicNamingTheFile() throws Exception {
        Path file = IdxFiles.write(dir.resolve("labels.gz"), IdxReader.LABELS_MAGIC, new int[] {3}, new byte[3]);

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> IdxReader.read(file, IdxReader.IMAGES_MAGIC));

        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("bad magic number 0x00000801, expected 0x00000803"), e.getMessage());
    }

    @Test
    void shouldRejectDataShorterThanTheHeaderDeclares() throws Exception {
        Path file = IdxFiles.write(dir.resolve("short.gz"), IdxReader.IMAGES_MAGIC, new int[] {2, 2, 2}, new byte[5]);

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> IdxReader.read(file, IdxReader.IMAGES_MAGIC));

        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
        assertTrue(e.getMessage().contains("8 bytes of data, file has 5"), e.getMessage());
    }

    @Test
    void shouldRejectDataLongerThanTheHeaderDeclares() throws Exception {
        Path file = IdxFiles.write(dir.resolve("long.gz"), IdxReader.LABELS_MAGIC, new int[] {2}, new byte[3]);

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> IdxReader.read(file, IdxReader.LABELS_MAGIC));

        assertTrue(e.getMessage().contains("longer than its header declares"), e.getMessage());
    }

    @Test
    void shouldRejectAHeaderCutShort() throws Exception {
        Path file = dir.resolve("header.gz");
        IdxFiles.writeGzip(file, new byte[] {0, 0, 8, 3, 0, 0, 0, 2});

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> IdxReader.read(file, IdxReader.IMAGES_MAGIC));

        assertTrue(e.getMessage().contains("truncated header"), e.getMessage());
    }

    @Test
    void shouldRejectAFileThatIsNotGzip() throws Exception {
        Path file = Files.write(dir.resolve("plain.gz"), new byte[] {0, 0, 8, 1, 0, 0, 0, 0});

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> IdxReader.read(file, IdxReader.LABELS_MAGIC));

        assertTrue(e.getMessage().contains("not a valid gzip file"), e.getMessage());
    }

    @Test
    void shouldRejectATruncatedGzipStream() throws Exception {
        Path whole = IdxFiles.write(dir.resolve("whole.gz"), IdxReader.LABELS_MAGIC, new int[] {4000}, new byte[4000]);
        byte[] bytes = Files.readAllBytes(whole);
        Path cut = Files.write(dir.resolve("cut.gz"), Arrays.copyOf(bytes, bytes.length / 2));

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> IdxReader.read(cut, IdxReader.LABELS_MAGIC));

        assertTrue(e.getMessage().contains(cut.toString()), e.getMessage());
    }

    @Test
    void shouldNameAMissingFile() {
        Path file = dir.resolve("absent.gz");

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> IdxReader.read(file, IdxReader.LABELS_MAGIC));

        assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains("not found"), e.getMessage());
    }
}
