package dev.tessera.deploy.checkpoint;

/** A checkpoint whose files are missing, truncated or fail their checksum; the message names the file. */
public final class CorruptCheckpointException extends RuntimeException {
    public CorruptCheckpointException(String message) {
        super(message);
    }
}
