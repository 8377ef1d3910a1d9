package dev.tessera.examples.gpt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.api.DataSource;
import dev.tessera.api.Inference;
import dev.tessera.graph.Shape;
import dev.tessera.tensor.HostTensor;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AdditionTaskTest {
    private final AdditionTask task = new AdditionTask(3, 0, 200);

    @Test
    void shouldWriteOperandsPaddedAndTheSumReversed() {
        assertEquals("123+456=9750.", task.render(task.encode(123, 456)));
        assertEquals("007+995=2001.", task.render(task.encode(7, 995)));
        assertEquals(13, task.vocabularySize());
        assertEquals(12, task.sequenceLength());
    }

    @Test
    void shouldTargetOnlyTheAnswerDigitsAndTheEndToken() {
        Map<String, HostTensor> batch = task.trainingInputs(new long[][] {{123, 456}});

        assertArrayEquals(new int[] {1, 2, 3, 10, 4, 5, 6, 11, 9, 7, 5, 0}, batch.get("tokens").ints());
        assertArrayEquals(new int[] {-1, -1, -1, -1, -1, -1, -1, 9, 7, 5, 0, AdditionTask.END}, batch.get("targets").ints());
        assertEquals(Shape.of(1, 12), batch.get("targets").shape());
    }

    @Test
    void shouldGiveTheSameBatchForTheSameSeedAndIndex() {
        DataSource a = task.trainData(5, 32);
        DataSource b = task.trainData(5, 32);

        assertEquals(a.batch(9), b.batch(9));
        assertFalse(a.batch(9).equals(a.batch(10)));
        assertFalse(a.batch(9).equals(task.trainData(6, 32).batch(9)));
    }

    @Test
    void shouldNeverTrainOnHeldOutProblems() {
        DataSource data = task.trainData(1, 64);
        for (long k = 0; k < 200; k++) {
            int[] tokens = data.batch(k).get("tokens").ints();
            for (int j = 0; j < 64; j++) {
                long a = number(tokens, j * 12, 3);
                long b = number(tokens, j * 12 + 4, 3);
                assertFalse(task.isTestPair(a, b), a + "+" + b + " is held out");
            }
        }
        for (long[] pair : task.testPairs()) {
            assertTrue(task.isTestPair(pair[0], pair[1]));
        }
    }

    @Test
    void shouldHoldOutAboutOnePairInTen() {
        AdditionTask two = new AdditionTask(2, 0, 10);
        int held = 0;
        for (int a = 0; a < 100; a++) {
            for (int b = 0; b < 100; b++) {
                held += two.isTestPair(a, b) ? 1 : 0;
            }
        }
        assertTrue(held > 800 && held < 1200, "held out " + held + " of 10000");
    }

    @Test
    void shouldCycleAFixedPoolWhenTrainExamplesIsSet() {
        AdditionTask pooled = new AdditionTask(2, 10, 10);
        DataSource data = pooled.trainData(3, 5);

        assertEquals(10, data.examplesPerEpoch());
        assertEquals(data.batch(4), pooled.trainData(3, 5).batch(4));
    }

    @Test
    void shouldScoreAPerfectModelAtFullExactMatch() {
        Map<String, Double> metrics = task.evaluate(new OracleInference(task, true));

        assertEquals(1.0, metrics.get("test_exact_match"));
        assertTrue(metrics.get("test_loss") < 1e-3, "loss " + metrics.get("test_loss"));
    }

    @Test
    void shouldScoreAModelThatIsOffByOneDigitAtZero() {
        Map<String, Double> metrics = task.evaluate(new OracleInference(task, false));

        assertEquals(0.0, metrics.get("test_exact_match"));
    }

    @Test
    void shouldRejectOutOfRangeSettingsNamingTheKey() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new AdditionTask(0, 0, 1));
        assertTrue(e.getMessage().contains("data.digits"));
        assertThrows(IllegalArgumentException.class, () -> new AdditionTask(3, -1, 1));
        assertThrows(IllegalArgumentException.class, () -> new AdditionTask(3, 0, 0));
    }

    private static long number(int[] tokens, int offset, int digits) {
        long n = 0;
        for (int i = 0; i < digits; i++) {
            n = n * 10 + tokens[offset + i];
        }
        return n;
    }

    /**
     * Stands in for a trained model: reads each prompt, and puts a large logit on the right next
     * answer token (or, when not {@code right}, on the wrong last answer digit).
     */
    private record OracleInference(AdditionTask task, boolean right) implements Inference {
        @Override
        public HostTensor logits(Map<String, HostTensor> inputs) {
            HostTensor tokens = inputs.get("tokens");
            int rows = tokens.shape().dim(0);
            int t = tokens.shape().dim(1);
            int v = task.vocabularySize();
            float[] logits = new float[rows * t * v];
            for (int j = 0; j < rows; j++) {
                long a = number(tokens.ints(), j * t, 3);
                long b = number(tokens.ints(), j * t + 4, 3);
                int[] truth = task.encode(a, b);
                for (int p = 0; p < t; p++) {
                    int next = truth[p + 1];
                    if (!right && p == t - 2) {
                        next = (next + 1) % 10;
                    }
                    logits[(j * t + p) * v + next] = 20f;
                }
            }
            return HostTensor.ofFloats(Shape.of(rows * t, v), logits);
        }
    }
}
