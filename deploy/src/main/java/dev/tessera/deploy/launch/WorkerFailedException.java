package dev.tessera.deploy.launch;

/** A worker of a multi-process job failed, exited or went silent; the message names it and says what happened. */
public final class WorkerFailedException extends RuntimeException {
    public WorkerFailedException(String message) {
        super(message);
    }
}
