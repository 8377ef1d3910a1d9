package dev.tessera.deploy.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.deploy.safetensors.SafeTensors;
import dev.tessera.graph.Shape;
import dev.tessera.tensor.HostTensor;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointStoreTest {
    @TempDir
    Path run;

    private static Checkpoint checkpoint(long step) {
        float[] weights = new float[12];
        for (int i = 0; i < weights.length; i++) {
            weights[i] = step * 0.5f + i / 7f;
        }
        return new Checkpoint(step, 42, "abc123", step * 2,
                Map.of("fc.weight", HostTensor.ofFloats(Shape.of(3, 4), weights),
                        "fc.bias", HostTensor.ofFloats(Shape.of(4), new float[] {1, 2, 3, (float) step})),
                Map.of("fc.weight.adam_m", HostTensor.ofFloats(Shape.of(3, 4), new float[12]),
                        "adam.step", HostTensor.ofDoubles(Shape.scalar(), new double[] {step})));
    }

    @Test
    void shouldRoundTripParametersOptimizerStateAndPosition() {
        CheckpointStore store = new CheckpointStore(run, 3);
        Checkpoint written = checkpoint(10);

        Path folder = store.save(written);
        Checkpoint read = store.load(folder);

        assertEquals(written, read);
        assertEquals(store.pathOf(10), store.latest().orElseThrow());
    }

    @Test
    void shouldWriteSafetensorsFilesAManifestWithChecksumsAndALatestPointer() throws IOException {
        CheckpointStore store = new CheckpointStore(run, 3);

        Path folder = store.save(checkpoint(5));

        assertEquals("ckpt-5", Files.readString(store.directory().resolve("latest"), StandardCharsets.UTF_8).trim());
        assertEquals(12, SafeTensors.read(folder.resolve("model.safetensors")).tensors().get("fc.weight").size());
        String manifest = Files.readString(folder.resolve("manifest.json"));
        assertTrue(manifest.contains(CheckpointStore.sha256(folder.resolve("optimizer.safetensors"))), manifest);
        assertTrue(manifest.contains("\"next_batch_index\" : 10"), manifest);
        try (Stream<Path> entries = Files.list(store.directory())) {
            assertTrue(entries.noneMatch(p -> p.getFileName().toString().startsWith(".")), "no temporary files left");
        }
    }

    @Test
    void shouldKeepOnlyTheNewestCheckpoints() {
        CheckpointStore store = new CheckpointStore(run, 2);

        for (long step : new long[] {10, 20, 30, 40}) {
            store.save(checkpoint(step));
        }

        assertEquals(List.of(30L, 40L), store.steps());
        assertEquals(store.pathOf(40), store.latest().orElseThrow());
    }

    @Test
    void shouldReportATruncatedFileAndNameTheOlderCheckpoint() throws IOException {
        CheckpointStore store = new CheckpointStore(run, 3);
        store.save(checkpoint(10));
        Path newest = store.save(checkpoint(20));
        Path model = newest.resolve("model.safetensors");
        try (RandomAccessFile file = new RandomAccessFile(model.toFile(), "rw")) {
            file.setLength(file.length() - 5);
        }

        CorruptCheckpointException e = assertThrows(CorruptCheckpointException.class, () -> store.load(newest));

        assertTrue(e.getMessage().contains("model.safetensors is truncated"), e.getMessage());
        assertTrue(e.getMessage().contains("corrupt"), e.getMessage());
        assertTrue(e.getMessage().contains("ckpt-10"), e.getMessage());
    }

    @Test
    void shouldReportAChecksumMismatch() throws IOException {
        CheckpointStore store = new CheckpointStore(run, 3);
        Path folder = store.save(checkpoint(10));
        Path optimizer = folder.resolve("optimizer.safetensors");
        byte[] bytes = Files.readAllBytes(optimizer);
        bytes[bytes.length - 1] ^= 0x40;
        Files.write(optimizer, bytes);

        CorruptCheckpointException e = assertThrows(CorruptCheckpointException.class, () -> store.load(folder));

        assertTrue(e.getMessage().contains("optimizer.safetensors fails its checksum"), e.getMessage());
        assertTrue(e.getMessage().contains("no older checkpoint"), e.getMessage());
    }

    @Test
    void shouldReportAMissingManifest() throws IOException {
        CheckpointStore store = new CheckpointStore(run, 3);
        Path folder = store.save(checkpoint(10));
        Files.delete(folder.resolve("manifest.json"));

        CorruptCheckpointException e = assertThrows(CorruptCheckpointException.class, () -> store.load(folder));

        assertTrue(e.getMessage().contains("manifest.json is missing"), e.getMessage());
    }

    @Test
    void shouldIgnoreAnInterruptedWriteAndStillFindThePreviousCheckpoint() throws IOException {
        CheckpointStore store = new CheckpointStore(run, 3);
        store.save(checkpoint(10));
        // What a crash in the middle of writing step 20 leaves behind: a half-filled temporary folder.
        Path partial = Files.createDirectories(store.directory().resolve(".tmp-ckpt-20"));
        Files.write(partial.resolve("model.safetensors"), new byte[] {1, 2, 3});

        assertEquals(List.of(10L), store.steps());
        assertEquals(checkpoint(10), store.load(store.latest().orElseThrow()));

        store.save(checkpoint(20));
        assertFalse(Files.exists(partial));
        assertEquals(checkpoint(20), store.load(store.latest().orElseThrow()));
    }

    @Test
    void shouldDiscardCheckpointsOfAnAbandonedTrajectory() {
        CheckpointStore store = new CheckpointStore(run, 5);
        for (long step : new long[] {10, 20, 30}) {
            store.save(checkpoint(step));
        }

        store.discardAfter(10);

        assertEquals(List.of(10L), store.steps());
        assertEquals(store.pathOf(10), store.latest().orElseThrow());
    }
}
