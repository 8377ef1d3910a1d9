package dev.tessera.runtime;

import static org.junit.jupiter.api.Assertions.fail;

import java.util.List;

/** Checks that no thread of any run is alive once runs ended. */
final class RuntimeThreads {
    private RuntimeThreads() {
    }

    static List<String> alive() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(Thread::isAlive)
                .map(Thread::getName)
                .filter(name -> name.startsWith(ActorRuntime.threadNamePrefix()))
                .sorted()
                .toList();
    }

    /** Waits up to a second for the executors to wind down, then fails naming what is still running. */
    static void assertNoneLeft() throws InterruptedException {
        long deadline = System.nanoTime() + 1_000_000_000L;
        List<String> alive = alive();
        while (!alive.isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(10);
            alive = alive();
        }
        if (!alive.isEmpty()) {
            fail("threads of ended runs still alive: " + alive);
        }
    }
}
