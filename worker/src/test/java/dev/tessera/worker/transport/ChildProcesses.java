package dev.tessera.worker.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The {@link AeronPeerProcess} children of one test: started with this JVM's class path, their
 * output kept in a log file, destroyed forcibly when the test ends however it ends, and checked
 * to be gone.
 */
final class ChildProcesses implements AutoCloseable {
    private final List<Process> processes = new ArrayList<>();
    private final List<Path> logs = new ArrayList<>();

    Process start(String mode, List<AeronPeer> peers, int self, String driver) {
        try {
            Path log = Files.createTempFile("tessera-aeron-child-", ".log");
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            ProcessBuilder builder = new ProcessBuilder(java, "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                    "--add-modules", "jdk.incubator.vector",
                    "--add-opens", "java.base/jdk.internal.misc=ALL-UNNAMED", "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED",
                    "--add-opens", "java.base/java.nio=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                    AeronPeerProcess.class.getName(), mode, AeronTestSupport.encode(peers), Integer.toString(self), driver)
                    .redirectErrorStream(true).redirectOutput(log.toFile());
            Process p = builder.start();
            processes.add(p);
            logs.add(log);
            return p;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Waits for {@code p} to exit and asserts status 0, showing its output otherwise. */
    void assertSucceeds(Process p, long seconds) throws Exception {
        boolean exited = p.waitFor(seconds, TimeUnit.SECONDS);
        assertEquals("exited 0", exited ? "exited " + p.exitValue() : "still running", () -> output(p));
    }

    String output(Process p) {
        try {
            return Files.readString(logs.get(processes.indexOf(p)));
        } catch (IOException e) {
            return e.toString();
        }
    }

    @Override
    public void close() throws Exception {
        for (Process p : processes) {
            if (p.isAlive()) {
                p.destroyForcibly();
            }
        }
        for (Process p : processes) {
            p.waitFor(10, TimeUnit.SECONDS);
            assertFalse(p.isAlive(), "child process " + p.pid() + " is still running");
        }
        for (Path log : logs) {
            Files.deleteIfExists(log);
        }
    }
}
