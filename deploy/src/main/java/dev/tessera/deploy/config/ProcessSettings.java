package dev.tessera.deploy.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import dev.tessera.deploy.InputException;
import dev.tessera.worker.transport.AeronSettings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * How a run is spread over worker processes: {@code parallel.processes} (1 runs every device in
 * this JVM), the {@code transport.aeron} settings of the tensor transport between the processes,
 * and the {@code transport.control} time-outs of the coordinator's channel to them. The transport
 * keys are spelled as the transport's own errors name them ({@code term-length}, as in an Aeron
 * channel URI). Everything is checked when the config loads, so a bad value fails before any
 * process starts, with the key named.
 *
 * @param processes worker processes; the plan's devices are cut into this many contiguous blocks
 * @param workerJvmOptions {@code parallel.worker_jvm_options}: more JVM options of every worker
 * @param aeron the transport settings (job id and plan version are the plan's, set per job);
 *     {@code externalDriverDirectory} null means the coordinator starts one shared media driver
 * @param heartbeatTimeout a worker or coordinator silent this long on the control channel is dead
 * @param startTimeout how long the workers may take to start, register and bind their fragments
 */
public record ProcessSettings(int processes, List<String> workerJvmOptions, AeronSettings aeron,
                              Duration heartbeatTimeout, Duration startTimeout) {
    public ProcessSettings {
        workerJvmOptions = List.copyOf(workerJvmOptions);
    }

    /** @throws InputException with one line per bad key, each named */
    public static ProcessSettings from(Config c, int devices) {
        List<String> problems = new ArrayList<>();
        int processes = 1;
        double count = c.getDouble("parallel.processes");
        if (count != Math.rint(count) || count < 1) {
            problems.add("parallel.processes: must be a whole number of at least 1, got "
                    + c.getValue("parallel.processes").render());
        } else if (count > devices) {
            problems.add("parallel.processes: " + (long) count + " processes for " + devices + " device"
                    + (devices == 1 ? "" : "s") + "; each process owns at least one device, so use at most "
                    + devices + " (or raise parallel.devices)");
        } else {
            processes = (int) count;
        }
        List<String> jvmOptions = List.of();
        try {
            jvmOptions = c.getStringList("parallel.worker_jvm_options");
        } catch (ConfigException e) {
            problems.add("parallel.worker_jvm_options: expected a list of strings such as [\"-Xmx8g\"], got "
                    + c.getValue("parallel.worker_jvm_options").render());
        }
        String prefix = "transport.aeron.";
        String driver = c.getString(prefix + "driver-directory").trim();
        String root = c.getString(prefix + "driver-root").trim();
        AeronSettings defaults = AeronSettings.defaults(0);
        AeronSettings aeron = defaults
                .withTermLength(bytes(c, prefix + "term-length", problems))
                .withMtu(bytes(c, prefix + "mtu", problems))
                .withIdleStrategy(c.getString(prefix + "idle-strategy").trim())
                .withTimeouts(duration(c, "transport.delivery-timeout", problems),
                        duration(c, prefix + "connect-timeout", problems), duration(c, prefix + "peer-timeout", problems))
                .withDriverTimeouts(duration(c, prefix + "client-liveness-timeout", problems),
                        duration(c, prefix + "publication-unblock-timeout", problems))
                .withSocketBuffer(bytes(c, prefix + "socket-buffer", problems));
        if (!root.isEmpty()) {
            aeron = aeron.withDriverRoot(Path.of(root));
        }
        if (!driver.isEmpty()) {
            aeron = aeron.withExternalDriver(Path.of(driver));
        }
        Duration heartbeat = duration(c, "transport.control.heartbeat-timeout", problems);
        Duration start = duration(c, "transport.control.start-timeout", problems);
        if (heartbeat != null && heartbeat.compareTo(Duration.ofSeconds(1)) < 0) {
            problems.add("transport.control.heartbeat-timeout is " + heartbeat + "; heartbeats go every 500 ms, so "
                    + "give at least 1s (default 10s)");
        }
        if (problems.isEmpty()) {
            try {
                aeron.check();
            } catch (IllegalArgumentException e) {
                e.getMessage().lines().filter(line -> line.startsWith("  - "))
                        .forEach(line -> problems.add(line.substring(4)));
            }
        }
        if (problems.isEmpty() && (start.isNegative() || start.isZero())) {
            problems.add("transport.control.start-timeout is " + start + "; it must be a positive duration");
        }
        if (!problems.isEmpty()) {
            throw new InputException(problems);
        }
        return new ProcessSettings(processes, jvmOptions, aeron, heartbeat, start);
    }

    private static int bytes(Config c, String path, List<String> problems) {
        try {
            long value = c.getBytes(path);
            if (value > Integer.MAX_VALUE) {
                problems.add(path + " is " + value + " bytes; at most " + Integer.MAX_VALUE + " are allowed");
                return 0;
            }
            return (int) value;
        } catch (ConfigException e) {
            problems.add(path + ": expected a size in bytes such as 16777216 or \"16 MiB\", got "
                    + c.getValue(path).render());
            return 0;
        }
    }

    private static Duration duration(Config c, String path, List<String> problems) {
        try {
            return c.getDuration(path);
        } catch (ConfigException e) {
            problems.add(path + ": expected a duration such as 10s or 500ms, got " + c.getValue(path).render());
            return Duration.ZERO;
        }
    }
}
