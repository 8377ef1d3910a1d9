package dev.tessera.examples.gpt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.api.DataSource;
import dev.tessera.graph.Shape;
import dev.tessera.tensor.HostTensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TextTaskTest {
    @TempDir
    Path dir;

    private Path textFile(String content) throws Exception {
        return Files.writeString(dir.resolve("text.txt"), content);
    }

    @Test
    void shouldBuildTheVocabularyFromTheFilesCharacters() throws Exception {
        TextTask task = new TextTask(textFile("héllo wörld ".repeat(50)), 8);

        assertEquals(9, task.vocabularySize());
        assertEquals(600, task.length());
        assertEquals(540, task.trainEnd());
    }

    @Test
    void shouldCutWindowsWhoseTargetsAreTheNextCharacters() throws Exception {
        TextTask task = new TextTask(textFile("abcdefghij".repeat(20)), 4);

        Map<String, HostTensor> batch = task.windows(new int[] {2});

        assertEquals("cdef", task.decode(batch.get("tokens").ints()));
        assertEquals("defg", task.decode(batch.get("targets").ints()));
        assertEquals(Shape.of(1, 4), batch.get("tokens").shape());
    }

    @Test
    void shouldDrawTrainingWindowsOnlyFromTheTrainingPartDeterministically() throws Exception {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < 1000; i++) {
            s.append(i < 900 ? (char) ('a' + (i * i) % 25) : 'z');
        }
        TextTask task = new TextTask(textFile(s.toString()), 16);
        DataSource data = task.trainData(11, 8);

        for (long k = 0; k < 100; k++) {
            String tokens = task.decode(data.batch(k).get("tokens").ints()) + task.decode(data.batch(k).get("targets").ints());
            assertFalse(tokens.contains("z"), "batch " + k + " reaches into the held-out part");
        }
        assertEquals(data.batch(5), task.trainData(11, 8).batch(5));
        assertFalse(data.batch(5).equals(data.batch(6)));
        assertFalse(data.batch(5).equals(task.trainData(12, 8).batch(5)));
    }

    @Test
    void shouldComputeUnigramEntropyInNats() throws Exception {
        TextTask task = new TextTask(textFile("ab".repeat(100)), 4);

        assertEquals(Math.log(2), task.unigramEntropy(), 1e-12);
    }

    @Test
    void shouldScoreHeldOutLossAgainstTheUnigramEntropy() throws Exception {
        TextTask task = new TextTask(textFile("ab".repeat(200)), 4);
        // Uniform logits: the loss of knowing nothing, ln(vocabulary).
        Map<String, Double> metrics = task.evaluate(inputs -> {
            int rows = inputs.get("tokens").size();
            return HostTensor.ofFloats(Shape.of(rows, 2), new float[rows * 2]);
        });

        assertEquals(Math.log(2), metrics.get("test_loss"), 1e-9);
        assertEquals(Math.log(2), metrics.get("unigram_entropy"), 1e-12);
    }

    @Test
    void shouldRejectATextTooShortForTheSequenceLength() throws Exception {
        Path file = textFile("short text");

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new TextTask(file, 64));

        assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains("data.seq_len"), e.getMessage());
    }

    @Test
    void shouldNameAMissingOrInvalidTextFile() throws Exception {
        Path missing = dir.resolve("absent.txt");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new TextTask(missing, 4));
        assertTrue(e.getMessage().contains(missing.toString()) && e.getMessage().contains("not found"));

        Path binary = Files.write(dir.resolve("binary.txt"), new byte[] {(byte) 0xff, (byte) 0xfe, 0x41});
        e = assertThrows(IllegalArgumentException.class, () -> new TextTask(binary, 4));
        assertTrue(e.getMessage().contains("not valid UTF-8"));
    }
}
