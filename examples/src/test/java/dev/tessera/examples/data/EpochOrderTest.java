package dev.tessera.examples.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class EpochOrderTest {

    @Test
    void shouldVisitEveryExampleOncePerEpoch() {
        EpochOrder order = new EpochOrder(7, 50);
        for (int epoch = 0; epoch < 3; epoch++) {
            int[] seen = new int[50];
            for (int i = 0; i < 50; i++) {
                seen[order.indexOf(epoch * 50L + i)]++;
            }
            int[] once = new int[50];
            Arrays.fill(once, 1);
            assertArrayEquals(once, seen, "epoch " + epoch);
        }
    }

    @Test
    void shouldGiveTheSameBatchForTheSameSeedAndIndexInAnyOrder() {
        EpochOrder first = new EpochOrder(42, 100);
        EpochOrder second = new EpochOrder(42, 100);
        int[] late = second.batch(37, 16);
        second.batch(2, 16);

        assertArrayEquals(first.batch(37, 16), late);
        assertArrayEquals(first.batch(2, 16), second.batch(2, 16));
    }

    @Test
    void shouldShuffleDifferentlyForOtherSeedsAndEpochs() {
        EpochOrder a = new EpochOrder(1, 1000);
        EpochOrder b = new EpochOrder(2, 1000);

        assertFalse(Arrays.equals(a.batch(0, 100), b.batch(0, 100)));
        assertFalse(Arrays.equals(a.batch(0, 100), a.batch(10, 100)), "epoch 1 reshuffles");
    }

    @Test
    void shouldStraddleEpochsWhenTheBatchDoesNotDivideTheDataSet() {
        EpochOrder order = new EpochOrder(3, 10);

        int[] batch = order.batch(2, 4);

        assertEquals(order.indexOf(8), batch[0]);
        assertEquals(order.indexOf(10), batch[2]);
    }
}
