package dev.tessera.deploy.launch;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Starts worker OS processes on this machine: {@code java} of this JVM with its class path, its
 * module and native-memory flags, its heap sizes and its garbage collector, then {@code parallel.worker_jvm_options},
 * running {@link WorkerMain}; each writes its
 * output to {@code worker-<p>.log} in the log directory.
 */
final class WorkerLauncher {
    /**
     * JVM arguments a worker inherits: what lets ND4J and Aeron run, the heap's sizes and the
     * garbage collector (a collector named in {@code parallel.worker_jvm_options} replaces this
     * JVM's: a JVM refuses two).
     */
    private static final List<String> INHERITED = List.of("--add-opens", "--add-exports", "--add-modules",
            "--enable-native-access", "-Dorg.bytedeco.", "-Xmx", "-Xms", "-Xss", "-XX:+Use");

    /** The system property that names a worker on its command line, e.g. {@code -Dtessera.worker=job-1b2c/1}. */
    static final String LABEL = "tessera.worker";

    private WorkerLauncher() {
    }

    /** The command line of worker {@code process}. */
    static List<String> command(InetSocketAddress coordinator, String jobId, int process, List<String> jvmOptions,
                                Duration connectTimeout, Duration heartbeatTimeout) {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        // a label for ps and tests, before the class path: Linux shows only a command line's first 4 KiB
        command.add("-D" + LABEL + "=" + jobId + "/" + process);
        boolean ownCollector = jvmOptions.stream().anyMatch(WorkerLauncher::selectsCollector);
        inheritedArguments().stream().filter(a -> !(ownCollector && selectsCollector(a))).forEach(command::add);
        command.addAll(jvmOptions);
        command.add("-Djava.awt.headless=true");
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(WorkerMain.class.getName());
        command.add("--coordinator");
        command.add(coordinator.getHostString() + ":" + coordinator.getPort());
        command.add("--job");
        command.add(jobId);
        command.add("--process");
        command.add(Integer.toString(process));
        command.add("--connect-timeout-ms");
        command.add(Long.toString(connectTimeout.toMillis()));
        command.add("--heartbeat-timeout-ms");
        command.add(Long.toString(heartbeatTimeout.toMillis()));
        return command;
    }

    static Process start(List<String> command, Path log) {
        try {
            Files.createDirectories(log.getParent());
            return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start a worker process (" + command.get(0) + "): " + e.getMessage(), e);
        }
    }

    /** Whether a JVM option chooses the garbage collector, e.g. {@code -XX:+UseG1GC}. */
    static boolean selectsCollector(String option) {
        return option.startsWith("-XX:+Use") && option.endsWith("GC");
    }

    private static List<String> inheritedArguments() {
        List<String> out = new ArrayList<>();
        List<String> arguments = ManagementFactory.getRuntimeMXBean().getInputArguments();
        for (int i = 0; i < arguments.size(); i++) {
            String argument = arguments.get(i);
            boolean inherited = INHERITED.stream().anyMatch(argument::startsWith)
                    && (!argument.startsWith("-XX:+Use") || selectsCollector(argument));
            if (inherited) {
                out.add(argument);
                // the two-word form, "--add-opens java.base/java.nio=ALL-UNNAMED"
                if (argument.startsWith("--") && !argument.contains("=") && i + 1 < arguments.size()) {
                    out.add(arguments.get(++i));
                }
            }
        }
        return out;
    }
}
