package dev.tessera.runtime.transport;

import dev.tessera.runtime.plan.Device;
import java.util.concurrent.CompletableFuture;

/**
 * Point-to-point tensor messages between devices. A message is named by (source device,
 * destination device, message id); exactly one {@link #send} and one {@link #receive} with the
 * same name make a delivery, in whichever order they are posted. Both calls return at once;
 * their futures complete on the transport's thread (or the caller's, when the other side is
 * already posted), so callers that must run on their own thread continue with an async stage.
 *
 * <p>Implementations: {@link InProcessTransport} (devices of one JVM); a network transport
 * (Aeron) implements the same contract across processes.
 */
public interface Transport extends AutoCloseable {
    /**
     * Sends {@code payload} from {@code source} to {@code destination} as message {@code messageId}.
     *
     * @return completes when the payload may be reused by the sender; completes exceptionally
     *     with a {@link TransportException} naming the peer when either device is not one of the
     *     transport's, when the matching receive expects another size or type, when no matching
     *     receive comes within the transport's delivery time-out, or when the transport closes
     */
    CompletableFuture<Void> send(Device source, Device destination, long messageId, TensorBuffer payload);

    /**
     * Receives message {@code messageId} from {@code source} into {@code into} on {@code destination}.
     *
     * @return completes when {@code into} holds the message; fails as {@link #send} does
     */
    CompletableFuture<Void> receive(Device destination, Device source, long messageId, TensorBuffer into);

    /** Fails every message still waiting for its other side, then refuses new ones. */
    @Override
    void close();
}
