package dev.tessera.runtime.bench;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * The floor: two bare Pekko Typed actors bouncing one preallocated message, on one or on two
 * single-thread dispatchers configured like the runtime's devices. No registers, no plan.
 */
final class PingPong {
    private record Ball(ActorRef<Ball> replyTo) {
    }

    private PingPong() {
    }

    /** Nanoseconds per message for {@code roundTrips} round trips (2 messages each). */
    static double nanosPerMessage(int roundTrips, boolean twoThreads, int throughput) throws Exception {
        Config config = ConfigFactory.parseString("""
                pekko.loglevel = "WARNING"
                pekko.jvm-shutdown-hooks = off
                pekko.coordinated-shutdown.run-by-jvm-shutdown-hook = off
                bench.one { type = Dispatcher, executor = "thread-pool-executor", throughput = %d,
                  thread-pool-executor { fixed-pool-size = 1, allow-core-timeout = off } }
                bench.two { type = Dispatcher, executor = "thread-pool-executor", throughput = %d,
                  thread-pool-executor { fixed-pool-size = 1, allow-core-timeout = off } }
                """.formatted(throughput, throughput)).withFallback(ConfigFactory.load());
        CompletableFuture<Long> done = new CompletableFuture<>();
        Behavior<Void> guardian = Behaviors.setup(context -> {
            ActorRef<Ball> ponger = context.spawn(Behaviors.receive(Ball.class)
                            .onMessage(Ball.class, ball -> {
                                ball.replyTo().tell(ball);
                                return Behaviors.same();
                            }).build(), "ponger",
                    DispatcherSelector.fromConfig(twoThreads ? "bench.two" : "bench.one"));
            ActorRef<Ball> pinger = context.spawn(Behaviors.setup(self -> {
                long[] remaining = {roundTrips};
                long start = System.nanoTime();
                ponger.tell(new Ball(self.getSelf()));
                return Behaviors.receive(Ball.class).onMessage(Ball.class, ball -> {
                    if (--remaining[0] == 0) {
                        done.complete(System.nanoTime() - start);
                        return Behaviors.stopped();
                    }
                    ponger.tell(ball);
                    return Behaviors.same();
                }).build();
            }), "pinger", DispatcherSelector.fromConfig("bench.one"));
            return Behaviors.empty();
        });
        ActorSystem<Void> system = ActorSystem.create(guardian, "ping-pong", config);
        try {
            return done.get() / (2.0 * roundTrips);
        } finally {
            system.terminate();
            system.getWhenTerminated().toCompletableFuture().get();
        }
    }
}
