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

    /**
     * Receives message {@code messageId} from {@code source} and writes into {@code into}, element
     * by element, {@code base} plus the message (base on the left, one rounding per element in the
     * element type, as {@link ElementSums} adds): the bits of receiving into a buffer of its own and
     * summing afterwards, without that buffer and the pass over it. The sender's side is a plain
     * {@link #send}. {@code base} is {@code into} itself ({@code into += message}) or does not
     * overlap it; both are the transport's until the future completes (base is read, into written,
     * as parts of the message arrive). Each element is summed exactly once: a network transport
     * sums a chunk only once it accepted it, so a frame it rejects (another job, a wrong length, a
     * duplicate or out-of-range chunk) never reaches {@code into}.
     *
     * @return completes when {@code into} holds the sums; fails as {@link #receive} does, and at
     *     once when {@code base} and {@code into} differ in type or element count
     */
    CompletableFuture<Void> receiveSum(Device destination, Device source, long messageId, TensorBuffer base,
            TensorBuffer into);

    /** Fails every message still waiting for its other side, then refuses new ones. */
    @Override
    void close();
}
