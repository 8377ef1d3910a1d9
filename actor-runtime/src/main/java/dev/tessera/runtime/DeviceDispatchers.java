package dev.tessera.runtime;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.tessera.runtime.plan.Device;
import java.util.List;
import java.util.Locale;
import org.apache.pekko.actor.typed.DispatcherSelector;

/**
 * The Pekko configuration of a runtime's actor system: a dispatcher per device with exactly one
 * thread that lives as long as the system, so the kernels of a device never run concurrently and
 * every run of the runtime finds its device threads started; quiet logging; small pools for
 * Pekko's own work; no JVM shutdown hooks (the runtime, not the JVM, ends the system).
 */
final class DeviceDispatchers {
    private DeviceDispatchers() {
    }

    static String dispatcherId(int device) {
        return "tessera.device-" + device;
    }

    static DispatcherSelector selector(int device) {
        return DispatcherSelector.fromConfig(dispatcherId(device));
    }

    static Config config(List<Device> devices, int throughput) {
        StringBuilder text = new StringBuilder();
        text.append("""
                pekko {
                  loglevel = "WARNING"
                  stdout-loglevel = "WARNING"
                  log-dead-letters = off
                  log-dead-letters-during-shutdown = off
                  # the runtime's threads never keep the JVM alive, should an executor be left unclosed
                  daemonic = on
                  jvm-shutdown-hooks = off
                  coordinated-shutdown.run-by-jvm-shutdown-hook = off
                  actor.default-dispatcher.fork-join-executor { parallelism-min = 1, parallelism-max = 2 }
                  actor.internal-dispatcher.fork-join-executor { parallelism-min = 1, parallelism-max = 2 }
                }
                """);
        for (Device device : devices) {
            text.append(String.format(Locale.ROOT, """
                    %s {
                      type = Dispatcher
                      executor = "thread-pool-executor"
                      thread-pool-executor { fixed-pool-size = 1, allow-core-timeout = off }
                      throughput = %d
                      # kept between runs of the runtime (a run's actors stop when it ends); ended with the system
                      shutdown-timeout = 1h
                    }
                    """, dispatcherId(device.index()), throughput));
        }
        return ConfigFactory.parseString(text.toString()).withFallback(ConfigFactory.load());
    }
}
