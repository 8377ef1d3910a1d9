package dev.tessera.examples.gpt;

import dev.tessera.api.DataSource;
import dev.tessera.api.Inference;
import dev.tessera.examples.data.SeededRandom;
import dev.tessera.examples.eval.Logits;
import dev.tessera.graph.Shape;
import dev.tessera.tensor.HostTensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Character-level language modelling of one UTF-8 text file. The vocabulary is the file's
 * distinct code points; the first 90% of the text trains, the last 10% is held out. Training
 * windows of seq_len+1 characters start at seeded random positions of the training part;
 * evaluation reports the held-out loss next to the text's unigram entropy (the loss of a model
 * that knows only character frequencies), both in nats, so one sees the model beat it.
 */
public final class TextTask implements GptTask {
    private static final long WINDOW_SALT = 0x7e47L;
    private static final int EVAL_BATCH = 32;
    /** Held-out windows scored per evaluation, so that evaluating a large file stays quick. */
    private static final int MAX_EVAL_WINDOWS = 256;

    private final Path file;
    private final int[] text;
    private final int[] symbols;
    private final int sequenceLength;
    private final int trainEnd;

    /** @throws IllegalArgumentException when the file is missing, not UTF-8, or too short for seq_len */
    public TextTask(Path file, int sequenceLength) {
        if (sequenceLength < 2) {
            throw new IllegalArgumentException("data.seq_len must be >= 2, got " + sequenceLength);
        }
        this.file = file;
        this.sequenceLength = sequenceLength;
        String content = read(file);
        int[] codePoints = content.codePoints().toArray();
        TreeMap<Integer, Integer> ids = new TreeMap<>();
        for (int c : codePoints) {
            ids.putIfAbsent(c, 0);
        }
        this.symbols = new int[ids.size()];
        int next = 0;
        for (Map.Entry<Integer, Integer> e : ids.entrySet()) {
            symbols[next] = e.getKey();
            e.setValue(next++);
        }
        this.text = new int[codePoints.length];
        for (int i = 0; i < codePoints.length; i++) {
            text[i] = ids.get(codePoints[i]);
        }
        this.trainEnd = (int) (text.length * 0.9);
        int needed = sequenceLength + 1;
        if (trainEnd < needed || text.length - trainEnd < needed) {
            throw new IllegalArgumentException("text file " + file + " has " + text.length + " characters; with data.seq_len = "
                    + sequenceLength + " it needs at least " + (int) Math.ceil(needed / 0.1) + " (10% are held out)"
                    + ": use a longer text or a smaller data.seq_len");
        }
    }

    private static String read(Path file) {
        try {
            byte[] bytes = Files.readAllBytes(file);
            return StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(bytes)).toString();
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("text file " + file + " (data.text_file) not found");
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("text file " + file + " (data.text_file) is not valid UTF-8");
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read text file " + file + " (data.text_file): " + e);
        }
    }

    @Override
    public int vocabularySize() {
        return symbols.length;
    }

    @Override
    public int sequenceLength() {
        return sequenceLength;
    }

    /** Number of characters, held-out part included. */
    public int length() {
        return text.length;
    }

    /** Index of the first held-out character. */
    public int trainEnd() {
        return trainEnd;
    }

    /** The characters of token ids, for showing samples. */
    public String decode(int[] ids) {
        StringBuilder s = new StringBuilder();
        for (int id : ids) {
            s.appendCodePoint(symbols[id]);
        }
        return s.toString();
    }

    /** Batch k: windows starting anywhere in the training part, drawn from (seed, k). */
    @Override
    public DataSource trainData(long seed, int batchSize) {
        int lastStart = trainEnd - (sequenceLength + 1);
        return index -> {
            SeededRandom random = SeededRandom.forStream(seed, index, WINDOW_SALT);
            int[] starts = new int[batchSize];
            for (int j = 0; j < batchSize; j++) {
                starts[j] = random.nextInt(lastStart + 1);
            }
            return windows(starts);
        };
    }

    /** "tokens" = text[s, s+T), "targets" = text[s+1, s+T+1) for each start s. */
    Map<String, HostTensor> windows(int[] starts) {
        int t = sequenceLength;
        int[] tokens = new int[starts.length * t];
        int[] targets = new int[starts.length * t];
        for (int j = 0; j < starts.length; j++) {
            System.arraycopy(text, starts[j], tokens, j * t, t);
            System.arraycopy(text, starts[j] + 1, targets, j * t, t);
        }
        Map<String, HostTensor> batch = new HashMap<>();
        batch.put("tokens", HostTensor.ofInts(Shape.of(starts.length, t), tokens));
        batch.put("targets", HostTensor.ofInts(Shape.of(starts.length, t), targets));
        return batch;
    }

    /** The entropy in nats of the character frequencies of the whole text. */
    public double unigramEntropy() {
        long[] counts = new long[symbols.length];
        for (int id : text) {
            counts[id]++;
        }
        double entropy = 0;
        for (long c : counts) {
            if (c > 0) {
                double p = c / (double) text.length;
                entropy -= p * Math.log(p);
            }
        }
        return entropy;
    }

    /** Mean next-character loss over consecutive, non-overlapping windows of the held-out part. */
    @Override
    public Map<String, Double> evaluate(Inference inference) {
        int t = sequenceLength;
        int windows = Math.min(MAX_EVAL_WINDOWS, (text.length - trainEnd - 1) / t);
        double lossSum = 0;
        long count = 0;
        for (int from = 0; from < windows; from += EVAL_BATCH) {
            int n = Math.min(EVAL_BATCH, windows - from);
            int[] starts = new int[n];
            for (int j = 0; j < n; j++) {
                starts[j] = trainEnd + (from + j) * t;
            }
            Map<String, HostTensor> batch = windows(starts);
            int[] targets = batch.get("targets").ints();
            Logits logits = new Logits(inference.logits(Map.of("tokens", batch.get("tokens"))));
            for (int r = 0; r < n * t; r++) {
                lossSum += logits.crossEntropy(r, targets[r]);
                count++;
            }
        }
        Map<String, Double> metrics = new LinkedHashMap<>();
        metrics.put("test_loss", lossSum / count);
        metrics.put("unigram_entropy", unigramEntropy());
        return metrics;
    }

    @Override
    public String describe() {
        return "text(" + file.getFileName() + ", " + text.length + " characters, " + symbols.length + " symbols)";
    }
}
