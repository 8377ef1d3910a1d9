package dev.tessera.examples.gpt;

import dev.tessera.api.DataSource;
import dev.tessera.api.Inference;
import dev.tessera.examples.data.EpochOrder;
import dev.tessera.examples.data.SeededRandom;
import dev.tessera.examples.eval.Logits;
import dev.tessera.graph.Shape;
import dev.tessera.tensor.HostTensor;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Multi-digit addition as next-token prediction, generated from a seed so it needs no download.
 *
 * <p>A problem {@code a+b=c} with {@code a, b} uniform in [0, 10^digits) is written with both
 * operands zero-padded to {@code digits} and the sum written <em>least significant digit
 * first</em>, zero-padded to {@code digits+1}, then an end token: with digits = 3,
 * 123+456=579 becomes {@code "123+456=9750."}. Reversing the sum lets the model produce each
 * digit right after it has seen the digits (and the carry) it depends on, which is what makes
 * addition learnable by a small transformer in minutes; the fixed width puts every problem at
 * the same positions. Only the answer digits and the end token are targets; the prompt is
 * context only (target -1).
 *
 * <p>Held-out problems are disjoint from training ones: a fixed hash of the pair (a, b) puts one
 * pair in ten into the test partition, and training never draws from it.
 */
public final class AdditionTask implements GptTask {
    /** Token ids 0..9 are the digits, then '+', '=' and the end token. */
    public static final String ALPHABET = "0123456789+=.";
    public static final int PLUS = 10;
    public static final int EQUALS = 11;
    public static final int END = 12;
    /** One test pair in this many. */
    private static final int TEST_SHARE = 10;
    private static final long PARTITION_SALT = 0xadd17107L;
    private static final long TRAIN_SALT = 0x7a41eL;
    private static final long POOL_SALT = 0x9001L;
    /** Fixed, so every run with the same digits is scored on the same problems. */
    private static final long TEST_SEED = 0x7e57L;
    private static final int EVAL_BATCH = 250;

    private final int digits;
    private final long range;
    private final int trainExamples;
    private final int testExamples;

    /**
     * @param digits at most this many digits per operand, 1..9
     * @param trainExamples size of a fixed training pool, or 0 to draw fresh problems every batch
     * @param testExamples number of held-out problems that evaluation decodes
     */
    public AdditionTask(int digits, int trainExamples, int testExamples) {
        if (digits < 1 || digits > 9) {
            throw new IllegalArgumentException("data.digits must be between 1 and 9, got " + digits);
        }
        if (trainExamples < 0) {
            throw new IllegalArgumentException("data.train_examples must be >= 0 (0 = fresh problems every batch), got " + trainExamples);
        }
        if (testExamples < 1) {
            throw new IllegalArgumentException("data.test_examples must be >= 1, got " + testExamples);
        }
        this.digits = digits;
        this.range = pow10(digits);
        this.trainExamples = trainExamples;
        this.testExamples = testExamples;
    }

    @Override
    public int vocabularySize() {
        return ALPHABET.length();
    }

    /** The whole written problem has 3*digits+4 tokens; the model sees all but the last. */
    @Override
    public int sequenceLength() {
        return 3 * digits + 3;
    }

    /** Index in the written problem of the first answer digit. */
    public int answerStart() {
        return 2 * digits + 2;
    }

    /** Whether the pair belongs to the held-out partition (never used for training). */
    public boolean isTestPair(long a, long b) {
        return Long.remainderUnsigned(SeededRandom.mix(PARTITION_SALT ^ (a * range + b)), TEST_SHARE) == 0;
    }

    /** The written problem as token ids, 3*digits+4 long. */
    public int[] encode(long a, long b) {
        int[] seq = new int[sequenceLength() + 1];
        writeDigits(a, seq, 0, digits, false);
        seq[digits] = PLUS;
        writeDigits(b, seq, digits + 1, digits, false);
        seq[2 * digits + 1] = EQUALS;
        writeDigits(a + b, seq, answerStart(), digits + 1, true);
        seq[seq.length - 1] = END;
        return seq;
    }

    /** The written problem as text, e.g. "123+456=9750.". */
    public String render(int[] tokens) {
        StringBuilder s = new StringBuilder();
        for (int t : tokens) {
            s.append(t >= 0 && t < ALPHABET.length() ? ALPHABET.charAt(t) : '?');
        }
        return s.toString();
    }

    /** A training pair drawn from {@code random}, rejecting held-out pairs. */
    long[] drawTrainPair(SeededRandom random) {
        while (true) {
            long a = random.nextLong(range);
            long b = random.nextLong(range);
            if (!isTestPair(a, b)) {
                return new long[] {a, b};
            }
        }
    }

    /** The held-out problems evaluation uses, the same for every run (drawn with replacement). */
    public long[][] testPairs() {
        SeededRandom random = new SeededRandom(TEST_SEED);
        long[][] pairs = new long[testExamples][];
        for (int i = 0; i < testExamples; ) {
            long a = random.nextLong(range);
            long b = random.nextLong(range);
            if (isTestPair(a, b)) {
                pairs[i++] = new long[] {a, b};
            }
        }
        return pairs;
    }

    @Override
    public DataSource trainData(long seed, int batchSize) {
        if (trainExamples == 0) {
            return new DataSource() {
                @Override
                public Map<String, HostTensor> batch(long index) {
                    SeededRandom random = SeededRandom.forStream(seed, index, TRAIN_SALT);
                    long[][] pairs = new long[batchSize][];
                    for (int j = 0; j < batchSize; j++) {
                        pairs[j] = drawTrainPair(random);
                    }
                    return trainingInputs(pairs);
                }
            };
        }
        SeededRandom poolRandom = SeededRandom.forStream(seed, 0, POOL_SALT);
        long[][] pool = new long[trainExamples][];
        for (int i = 0; i < trainExamples; i++) {
            pool[i] = drawTrainPair(poolRandom);
        }
        EpochOrder order = new EpochOrder(seed, trainExamples);
        return new DataSource() {
            @Override
            public Map<String, HostTensor> batch(long index) {
                int[] rows = order.batch(index, batchSize);
                long[][] pairs = new long[batchSize][];
                for (int j = 0; j < batchSize; j++) {
                    pairs[j] = pool[rows[j]];
                }
                return trainingInputs(pairs);
            }

            @Override
            public long examplesPerEpoch() {
                return trainExamples;
            }
        };
    }

    /** "tokens" = the problem without its last token, "targets" = the next token on answer positions, else -1. */
    Map<String, HostTensor> trainingInputs(long[][] pairs) {
        int t = sequenceLength();
        int[] tokens = new int[pairs.length * t];
        int[] targets = new int[pairs.length * t];
        for (int j = 0; j < pairs.length; j++) {
            int[] seq = encode(pairs[j][0], pairs[j][1]);
            for (int p = 0; p < t; p++) {
                tokens[j * t + p] = seq[p];
                targets[j * t + p] = p + 1 >= answerStart() ? seq[p + 1] : -1;
            }
        }
        Map<String, HostTensor> batch = new HashMap<>();
        batch.put("tokens", HostTensor.ofInts(Shape.of(pairs.length, t), tokens));
        batch.put("targets", HostTensor.ofInts(Shape.of(pairs.length, t), targets));
        return batch;
    }

    /**
     * Greedy decoding of every held-out prompt: the answer is produced one token at a time, each
     * fed back as input; a problem counts when all digits+1 answer digits are right. The loss is
     * teacher-forced, over the same positions as in training.
     */
    @Override
    public Map<String, Double> evaluate(Inference inference) {
        long[][] pairs = testPairs();
        int t = sequenceLength();
        int start = answerStart();
        long exact = 0;
        double lossSum = 0;
        long lossCount = 0;
        for (int from = 0; from < pairs.length; from += EVAL_BATCH) {
            int n = Math.min(EVAL_BATCH, pairs.length - from);
            int[][] truth = new int[n][];
            int[] known = new int[n * t];
            int[] decoding = new int[n * t];
            for (int j = 0; j < n; j++) {
                truth[j] = encode(pairs[from + j][0], pairs[from + j][1]);
                System.arraycopy(truth[j], 0, known, j * t, t);
                for (int p = 0; p < t; p++) {
                    decoding[j * t + p] = p < start ? truth[j][p] : END;
                }
            }
            Logits forced = new Logits(inference.logits(Map.of("tokens", HostTensor.ofInts(Shape.of(n, t), known))));
            for (int j = 0; j < n; j++) {
                for (int p = start - 1; p < t; p++) {
                    lossSum += forced.crossEntropy(j * t + p, truth[j][p + 1]);
                    lossCount++;
                }
            }
            for (int step = 0; step <= digits; step++) {
                int position = start - 1 + step;
                Logits next = new Logits(inference.logits(Map.of("tokens", HostTensor.ofInts(Shape.of(n, t), decoding.clone()))));
                for (int j = 0; j < n; j++) {
                    decoding[j * t + position + 1] = next.argmax(j * t + position);
                }
            }
            for (int j = 0; j < n; j++) {
                boolean right = true;
                for (int p = start; p < t; p++) {
                    right &= decoding[j * t + p] == truth[j][p];
                }
                exact += right ? 1 : 0;
            }
        }
        Map<String, Double> metrics = new LinkedHashMap<>();
        metrics.put("test_exact_match", exact / (double) pairs.length);
        metrics.put("test_loss", lossSum / lossCount);
        return metrics;
    }

    @Override
    public String describe() {
        return "addition(digits=" + digits + ", answer reversed, "
                + (trainExamples == 0 ? "fresh problems" : trainExamples + " training problems") + ")";
    }

    private static void writeDigits(long value, int[] out, int offset, int width, boolean leastSignificantFirst) {
        for (int i = 0; i < width; i++) {
            int digit = (int) (value % 10);
            value /= 10;
            out[leastSignificantFirst ? offset + i : offset + width - 1 - i] = digit;
        }
    }

    private static long pow10(int n) {
        long r = 1;
        for (int i = 0; i < n; i++) {
            r *= 10;
        }
        return r;
    }
}
