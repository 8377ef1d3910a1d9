package dev.tessera.runtime.transport;

import dev.tessera.runtime.plan.Device;
import java.util.concurrent.CompletableFuture;

/**
 * One member's view of a group of devices that runs collectives together: the group's devices in
 * rank order, this member's rank, and point-to-point messages to peers by rank. Collective
 * algorithms (in worker/) are written against this interface only, so they run unchanged over
 * any {@link Transport}.
 *
 * <p>Tags name a message within the group; the same (peer, tag) pair must not be in flight
 * twice at once. Failures are the transport's ({@link TransportException} naming the peer).
 */
public interface Communicator {
    /** Largest tag a caller may use: the bits above are the group's. */
    long MAX_TAG = (1L << 48) - 1;

    /** This member's rank in the group, from 0. */
    int rank();

    /** Number of members. */
    int size();

    /** The device of the member at {@code rank}. */
    Device device(int rank);

    /** Sends {@code payload} to the member at {@code peer} as message {@code tag}; see {@link Transport#send}. */
    CompletableFuture<Void> send(int peer, long tag, TensorBuffer payload);

    /** Receives message {@code tag} from the member at {@code peer} into {@code into}; see {@link Transport#receive}. */
    CompletableFuture<Void> receive(int peer, long tag, TensorBuffer into);

    /**
     * Receives message {@code tag} from the member at {@code peer} and writes {@code base} plus it
     * into {@code into}; see {@link Transport#receiveSum}.
     */
    CompletableFuture<Void> receiveSum(int peer, long tag, TensorBuffer base, TensorBuffer into);

    /** Bytes this member has sent through this communicator. */
    long bytesSent();
}
