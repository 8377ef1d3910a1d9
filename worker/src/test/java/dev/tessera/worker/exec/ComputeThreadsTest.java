package dev.tessera.worker.exec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class ComputeThreadsTest {
    @Test
    void shouldSetTheThreadCountOfNd4jNativeLoops() {
        int before = ComputeThreads.current();
        try {
            ComputeThreads.set(2);
            assertEquals(2, ComputeThreads.current());
            ComputeThreads.set(1);
            assertEquals(1, ComputeThreads.current());
        } finally {
            ComputeThreads.set(before);
        }
    }

    @Test
    void shouldRejectFewerThanOneThread() {
        assertThrows(IllegalArgumentException.class, () -> ComputeThreads.set(0));
    }

    @Test
    void shouldGiveEveryDeviceThreadTheBudgetOnItsFirstAction() throws InterruptedException {
        int before = ComputeThreads.current();
        try {
            ComputeThreads.set(1);
            int[] seen = new int[2];
            Thread device = new Thread(() -> {
                seen[0] = ComputeThreads.current();
                ComputeThreads.applyToCurrentThread();
                seen[1] = ComputeThreads.current();
            });
            device.start();
            device.join();
            assertEquals(1, seen[1], "after applying the budget");
            ComputeThreads.set(2);
            Thread other = new Thread(() -> {
                ComputeThreads.applyToCurrentThread();
                seen[0] = ComputeThreads.current();
            });
            other.start();
            other.join();
            assertEquals(2, seen[0]);
        } finally {
            ComputeThreads.set(before);
        }
    }
}
