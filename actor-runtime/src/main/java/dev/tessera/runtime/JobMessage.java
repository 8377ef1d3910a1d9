package dev.tessera.runtime;

/** What actors tell the job that runs them; public for {@code dev.tessera.runtime.wire}. */
public sealed interface JobMessage {
    /**
     * The actor acted for every step, every register it owns came back, and it stopped, having
     * sent {@code sent} and received {@code received} messages from other actors in all.
     */
    record ActorFinished(int actor, long sent, long received) implements JobMessage {
    }

    /** The actor's answer to {@link ActorMessage.Probe}: messages sent to and received from other actors so far. */
    record ProbeReply(int actor, int wave, long sent, long received) implements JobMessage {
    }

    /**
     * The actor's answer to {@link ActorMessage.ExplainWait}: what its next action waits for,
     * or null when it is on an ordered device and not that device's next action.
     */
    record Waiting(int actor, DeadlockException.BlockedAction blocked) implements JobMessage {
    }

    /** The job's own timer: time to look for a deadlock. */
    record DeadlockCheck() implements JobMessage {
        static final DeadlockCheck INSTANCE = new DeadlockCheck();
    }

    /** The actor failed; the job stops. */
    record ActorFailed(int actor, Throwable error) implements JobMessage {
    }
}
