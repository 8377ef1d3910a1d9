package dev.tessera.runtime.wire;

/**
 * An error thrown in another process, known only by its text (class name and message, as its
 * {@code toString} read there). Its own {@code toString} is that text unchanged, so an
 * {@link dev.tessera.runtime.ActionFailedException} wrapping it reads as the original did.
 */
public final class RemoteFailure extends RuntimeException {
    public RemoteFailure(String text) {
        super(text, null, false, false);
    }

    @Override
    public String toString() {
        return getMessage();
    }
}
