package dev.tessera.worker.transport;

import dev.tessera.runtime.plan.Device;
import dev.tessera.runtime.transport.ElementSums;
import dev.tessera.runtime.transport.TensorBuffer;
import java.util.concurrent.CompletableFuture;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * One side of a tensor message, posted by {@link AeronTransport#send} or {@link AeronTransport#receive}
 * and from then on owned by the transport thread. {@code bytes} is an Agrona view of the tensor's
 * own memory: chunks are read from it and written into it in place. A receive that sums
 * ({@link AeronTransport#receiveSum}) has a {@code base} and writes base + chunk instead, through
 * {@code baseViews} and {@code intoViews}.
 */
final class Message {
    final boolean isSend;
    final Device source;
    final Device destination;
    final long id;
    final TensorBuffer buffer;
    final UnsafeBuffer bytes;
    /** Receive: what each chunk is added to (may be {@link #buffer} itself), or null for a plain receive. */
    final TensorBuffer base;
    final ElementSums.Views baseViews;
    final ElementSums.Views intoViews;
    final CompletableFuture<Void> done = new CompletableFuture<>();
    /** The peer process on the other side, or -1 when both devices are this process's. */
    final int remote;
    final MessageKey key;
    long deadlineNanos;
    /** Send: bytes already claimed. Receive: bytes already written. */
    long progress;
    int nextChunk;
    /** Receive: the sender's chunk size, known from the first chunk (-1 before). */
    int chunkBytes = -1;

    Message(boolean isSend, Device source, Device destination, long id, TensorBuffer buffer, TensorBuffer base,
            int remote) {
        this.isSend = isSend;
        this.source = source;
        this.destination = destination;
        this.id = id;
        this.buffer = buffer;
        this.bytes = new UnsafeBuffer(buffer.region());
        this.base = base;
        this.intoViews = base == null ? null : ElementSums.Views.of(buffer);
        this.baseViews = base == null ? null : base == buffer ? intoViews : ElementSums.Views.of(base);
        this.remote = remote;
        this.key = new MessageKey().set(source.index(), destination.index(), id);
    }

    long total() {
        return buffer.byteSize();
    }

    String describe() {
        return (isSend ? "sending" : "receiving") + " message " + id + " from " + source.name() + " to " + destination.name();
    }
}
