package dev.tessera.runtime;

import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * The guardian of a runtime's actor system. Each run is one {@link Job} child, watched: the
 * child terminates only after every actor it spawned has stopped, so the run's end callback
 * fires when nothing of the run is left to act.
 */
final class Runs {
    private Runs() {
    }

    sealed interface Message {
    }

    /** Spawn a run's job under {@code name}; call {@code onEnd} once it and all of its actors stopped. */
    record Launch(Behavior<JobMessage> job, String name, Runnable onEnd) implements Message {
    }

    private record Ended(Runnable onEnd) implements Message {
    }

    static Behavior<Message> create() {
        return Behaviors.setup(context -> Behaviors.receive(Message.class)
                .onMessage(Launch.class, launch -> {
                    ActorRef<JobMessage> job = context.spawn(launch.job(), launch.name());
                    context.watchWith(job, new Ended(launch.onEnd()));
                    return Behaviors.same();
                })
                .onMessage(Ended.class, ended -> {
                    ended.onEnd().run();
                    return Behaviors.same();
                })
                .build());
    }
}
