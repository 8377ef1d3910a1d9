package dev.tessera.worker.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ExponentialTest {
    @Test
    void shouldMatchMathExpWithinOneInAQuadrillionOverTheWholeRange() {
        SplittableRandom random = new SplittableRandom(12);
        double worst = 0;
        for (int i = 0; i < 2_000_000; i++) {
            double x = i % 2 == 0 ? random.nextDouble(-30, 30) : random.nextDouble(-745, 710);
            double expected = Math.exp(x);
            double actual = Exponential.exp(x);
            if (expected == 0 || Double.isInfinite(expected)) {
                assertEquals(expected, actual, "e^" + x);
                continue;
            }
            worst = Math.max(worst, Math.abs(actual - expected) / expected);
        }
        assertTrue(worst < 1e-15, "largest relative difference to Math.exp " + worst);
    }

    @Test
    void shouldRoundToTheSameFloatAsMathExpAlmostEverywhere() {
        SplittableRandom random = new SplittableRandom(13);
        int differ = 0;
        int n = 1_000_000;
        for (int i = 0; i < n; i++) {
            double x = random.nextDouble(-20, 20);
            float expected = (float) Math.exp(x);
            float actual = (float) Exponential.exp(x);
            if (expected != actual) {
                differ++;
                assertEquals(Math.ulp(expected), Math.abs(actual - expected), "e^" + x + " more than one float ulp off");
            }
        }
        assertTrue(differ < n / 10_000, differ + " of " + n + " floats differ from Math.exp's");
    }

    @Test
    void shouldKeepTheSpecialValues() {
        assertEquals(1.0, Exponential.exp(0.0));
        assertEquals(Double.POSITIVE_INFINITY, Exponential.exp(710));
        assertEquals(Double.POSITIVE_INFINITY, Exponential.exp(Double.POSITIVE_INFINITY));
        assertEquals(0.0, Exponential.exp(Double.NEGATIVE_INFINITY));
        assertEquals(0.0, Exponential.exp(-746));
        assertTrue(Double.isNaN(Exponential.exp(Double.NaN)));
        assertEquals(Math.exp(709.5), Exponential.exp(709.5));
        assertEquals(Math.exp(-740), Exponential.exp(-740));
    }
}
