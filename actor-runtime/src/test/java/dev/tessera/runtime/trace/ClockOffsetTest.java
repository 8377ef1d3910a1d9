package dev.tessera.runtime.trace;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

class ClockOffsetTest {

    @Test
    void shouldEstimateTheOffsetOfASkewedClockWithinHalfTheRoundTrip() {
        long skew = 5_000_000_000L;
        Random random = new Random(11);
        for (int trial = 0; trial < 1000; trial++) {
            long sent = 1_000_000 + random.nextInt(1_000_000);
            long there = sent + random.nextInt(200_000);
            long received = there + random.nextInt(200_000);

            ClockOffset estimate = ClockOffset.fromRoundTrip(sent, there + skew, received);

            assertTrue(Math.abs(estimate.offsetNanos() - skew) <= estimate.errorNanos(), estimate.toString());
            assertTrue(2 * estimate.errorNanos() >= received - sent, estimate.toString());
            assertTrue(Math.abs(estimate.toLocal(there + skew) - there) <= estimate.errorNanos(), estimate.toString());
        }
    }

    @Test
    void shouldEstimateExactlyWhenTheAnswerTookNoTimeAndKeepTheTighterOfTwo() {
        ClockOffset exact = ClockOffset.fromRoundTrip(100, 350, 100);
        assertEquals(new ClockOffset(250, 0), exact);
        ClockOffset loose = ClockOffset.fromRoundTrip(100, 400, 300);
        assertEquals(new ClockOffset(200, 100), loose);
        assertEquals(exact, loose.tighter(exact));
        assertEquals(exact, exact.tighter(loose));
        assertEquals(-50, exact.toLocal(200));
    }

    @Test
    void shouldRejectAnAnswerBeforeItsProbe() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ClockOffset.fromRoundTrip(500, 0, 400));
        assertTrue(e.getMessage().contains("100 ns before it was sent"), e.getMessage());
    }
}
