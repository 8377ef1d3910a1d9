package dev.tessera.runtime.transport;

/**
 * A tensor message that could not be delivered: the peer is not known to the transport, it sent
 * or expected a payload of another size, it did not answer in time, or the transport was closed.
 * The message names both devices and the message id, so the failed collective can be found.
 */
public final class TransportException extends RuntimeException {
    public TransportException(String message) {
        super(message);
    }
}
