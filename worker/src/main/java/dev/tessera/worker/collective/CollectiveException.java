package dev.tessera.worker.collective;

/** A collective member that could not finish: names the collective, the device and the round; the cause names the peer. */
public final class CollectiveException extends RuntimeException {
    public CollectiveException(String message, Throwable cause) {
        super(message, cause);
    }
}
