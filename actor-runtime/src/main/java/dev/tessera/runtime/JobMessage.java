package dev.tessera.runtime;

/** What actors tell the job that runs them; public for {@code dev.tessera.runtime.wire}. */
public sealed interface JobMessage {
    /** The actor acted for every step, every register it owns came back, and it stopped. */
    record ActorFinished(int actor) implements JobMessage {
    }

    /** The actor failed; the job stops. */
    record ActorFailed(int actor, Throwable error) implements JobMessage {
    }
}
