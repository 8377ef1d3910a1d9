package dev.tessera.runtime;

/**
 * The register protocol between the actors of a plan: small immutable records, passed by
 * reference inside a JVM. Delivery between two actors is in order (Pekko guarantees it per
 * sender and receiver), which is why a consumer can take its inputs in arrival order. Public so
 * that {@code dev.tessera.runtime.wire} can convert them to their remote form.
 */
public sealed interface ActorMessage {
    /** Sent by the job to every actor once all are spawned: actors without inputs start acting. */
    record Start() implements ActorMessage {
        static final Start INSTANCE = new Start();
    }

    /**
     * Register {@code register} of the producer, read by the receiver's input {@code input},
     * holds the piece of step {@code step} (iteration times micro-batches plus micro-batch).
     */
    record Ready(int input, int register, Object payload, long step) implements ActorMessage {
    }

    /** The sender no longer needs register {@code register} of the receiver's output {@code output}. */
    record Ack(int output, int register) implements ActorMessage {
    }

    /** Control predecessor {@code predecessor} acted for one more step. */
    record ControlDone(int predecessor) implements ActorMessage {
    }

    /** The producer of the receiver's input {@code input} will send no more pieces. */
    record EndOfStream(int input) implements ActorMessage {
    }

    /** On an ordered device: the receiver's action is the device's next one. */
    record Turn() implements ActorMessage {
        static final Turn INSTANCE = new Turn();
    }

    /**
     * From the job, looking for a deadlock: reply with how many messages you sent to and
     * received from other actors so far ({@link JobMessage.ProbeReply}).
     */
    record Probe(int wave) implements ActorMessage {
    }

    /** From the job, which found the run deadlocked: reply with what you wait for ({@link JobMessage.Waiting}). */
    record ExplainWait() implements ActorMessage {
        static final ExplainWait INSTANCE = new ExplainWait();
    }

    /** To itself: a task of the actor's action, see {@link ActionContext#executor()}. Never crosses processes. */
    record RunTask(Runnable task) implements ActorMessage {
    }

    /**
     * To itself: its {@link AsyncActorAction} completed, with {@code failure} null on success.
     * Never crosses processes.
     */
    record ActionCompleted(Throwable failure) implements ActorMessage {
    }
}
