package dev.tessera.autodiff;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.tessera.optim.LrSchedule;
import org.junit.jupiter.api.Test;

class LrScheduleTest {
    @Test
    void shouldWarmUpLinearlyThenDecayByCosineToMinimum() {
        LrSchedule s = new LrSchedule.WarmupCosine(1.0, 10, 110, 0.1);
        assertEquals(0.1, s.at(0), 1e-12);
        assertEquals(1.0, s.at(9), 1e-12);
        assertEquals(1.0, s.at(10), 1e-12);
        assertEquals(0.55, s.at(60), 1e-12);
        assertEquals(0.1, s.at(110), 1e-12);
        assertEquals(0.1, s.at(500), 1e-12);
    }

    @Test
    void shouldRejectNonPositiveRate() {
        assertThrows(IllegalArgumentException.class, () -> new LrSchedule.Constant(0));
        assertThrows(IllegalArgumentException.class, () -> new LrSchedule.WarmupCosine(0.1, 0, 10, 0.2));
    }
}
