package dev.tessera.deploy.launch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class WorkerLauncherTest {
    private static List<String> command(List<String> options) {
        return WorkerLauncher.command(new InetSocketAddress("127.0.0.1", 4000), "job-1", 1, options,
                Duration.ofSeconds(5), Duration.ofSeconds(5));
    }

    private static List<String> collectors(List<String> command) {
        return command.stream().filter(WorkerLauncher::selectsCollector).toList();
    }

    @Test
    void shouldGiveWorkersThisJvmsCollectorAndHeapSizes() {
        List<String> own = ManagementFactory.getRuntimeMXBean().getInputArguments();
        List<String> command = command(List.of());

        // the build runs tests with the parent pom's flags, which choose the serial collector
        assertEquals(List.of("-XX:+UseSerialGC"), collectors(own), "the test JVM's collector: " + own);
        assertEquals(collectors(own), collectors(command));
        own.stream().filter(a -> a.startsWith("-Xms") || a.startsWith("-Xmx"))
                .forEach(a -> assertTrue(command.contains(a), a + " is not passed on: " + command));
        assertTrue(command.stream().noneMatch(a -> a.startsWith("-XX:+UseCompressed")), "only the collector is inherited");
    }

    @Test
    void shouldLetWorkerOptionsChooseAnotherCollector() {
        List<String> command = command(List.of("-XX:+UseG1GC", "-Xmx2g"));

        assertEquals(List.of("-XX:+UseG1GC"), collectors(command), "a JVM refuses two collectors: " + command);
        assertTrue(command.indexOf("-Xmx2g") > command.lastIndexOf("-Xmx4g"), "the worker's own heap limit comes last");
    }

    @Test
    void shouldTellCollectorsFromOtherOptions() {
        assertTrue(WorkerLauncher.selectsCollector("-XX:+UseParallelGC"));
        assertTrue(!WorkerLauncher.selectsCollector("-XX:+UseCompressedOops"));
        assertTrue(!WorkerLauncher.selectsCollector("-XX:+UseStringDeduplication"));
    }
}
