package dev.tessera.runtime;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.tessera.runtime.plan.Device;
import java.util.List;
import java.util.Locale;
import org.apache.pekko.actor.typed.DispatcherSelector;

/**
 * The Pekko configuration of a runtime's actor system: a dispatcher per device with exactly one
 * thread, so the kernels of a device never run concurrently, kept between runs (an idle minute
 * may replace it); quiet logging; small pools for Pekko's own work; no JVM shutdown hooks (the
 * runtime, not the JVM, ends the system).
 *
 * <p>The device's thread is a fork-join pool of one (no compensating threads: a blocking join
 * on it fails loudly instead of letting a second thread run the device's actors) taking actors
 * in the order their messages arrived. A thread-pool executor of one thread was measured
 * holding every acknowledgement of a forward pass until the pass ended (an actor's
 * {@code Ack} to its producer waited while the consumers it made ready ran first), so no
 * activation's buffer returned to the pool during the forward: gpt-text (4 layers, d 256) held
 * 327 MiB of registers, 312 MiB in use at most, against 210-227 and 171-179 MiB now, close to
 * the 210 MiB that {@code PlanMemory.withReuse} simulates.
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
                      executor = "fork-join-executor"
                      fork-join-executor { parallelism-min = 1, parallelism-max = 1, parallelism-factor = 1.0, maximum-pool-size = 1, task-peeking-mode = "FIFO" }
                      throughput = %d
                      # kept between runs of the runtime (a run's actors stop when it ends); ended with the system
                      shutdown-timeout = 1h
                    }
                    """, dispatcherId(device.index()), throughput));
        }
        return ConfigFactory.parseString(text.toString()).withFallback(ConfigFactory.load());
    }
}
