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
}
