package dev.tessera.runtime.transport;

import dev.tessera.runtime.plan.Device;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The {@link Transport} between devices of one JVM: a send and its receive meet in a table keyed
 * by (source, destination, message id); whichever comes second copies the payload into the
 * receive buffer and completes both futures. A copy (not a hand-over of the reference) keeps the
 * ownership rule of a network transport: after completion the sender may overwrite its payload.
 * A {@link #receiveSum} is met the same way, and the hand-over writes base + payload into the
 * receive buffer instead of the copy, with the sums a collective member uses ({@link ElementSums}).
 *
 * <p>A message whose other side does not come within the delivery time-out fails with a
 * {@link TransportException} naming both devices, so a collective whose peer stopped fails
 * instead of hanging.
 */
public final class InProcessTransport implements Transport {
    private record MessageKey(int source, int destination, long messageId) {
    }

    /** One side of a message waiting for the other; {@code base} is non-null for a receive that sums. */
    private record Waiting(boolean isSend, TensorBuffer buffer, TensorBuffer base, CompletableFuture<Void> done,
            Device source, Device destination, long messageId, ScheduledFuture<?>[] timeout) {
    }

    /**
     * The hand-over runs on whichever thread posts the second side, so each such thread sums with
     * blocks of its own (made on its first sum of each type).
     */
    private static final ThreadLocal<ElementSums[]> SUMS =
            ThreadLocal.withInitial(() -> new ElementSums[ElementType.values().length]);

    private final Device[] devices;
    private final long timeoutNanos;
    private final Map<MessageKey, Waiting> waiting = new ConcurrentHashMap<>();
    private final ScheduledThreadPoolExecutor timer;
    private volatile boolean closed;

    /**
     * @param devices the devices that may send and receive, each at its {@link Device#index()}
     * @param deliveryTimeout how long one side of a message waits for the other before failing
     */
    public InProcessTransport(List<Device> devices, Duration deliveryTimeout) {
        int size = devices.stream().mapToInt(Device::index).max().orElse(-1) + 1;
        this.devices = new Device[size];
        for (Device d : devices) {
            this.devices[d.index()] = d;
        }
        this.timeoutNanos = deliveryTimeout.toNanos();
        this.timer = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "in-process-transport-timer");
            t.setDaemon(true);
            return t;
        });
        timer.setRemoveOnCancelPolicy(true);
    }

    @Override
    public CompletableFuture<Void> send(Device source, Device destination, long messageId, TensorBuffer payload) {
        return post(true, source, destination, messageId, payload, null);
    }

    @Override
    public CompletableFuture<Void> receive(Device destination, Device source, long messageId, TensorBuffer into) {
        return post(false, source, destination, messageId, into, null);
    }

    @Override
    public CompletableFuture<Void> receiveSum(Device destination, Device source, long messageId, TensorBuffer base,
            TensorBuffer into) {
        return post(false, source, destination, messageId, into, base);
    }

    private CompletableFuture<Void> post(boolean isSend, Device source, Device destination, long messageId,
            TensorBuffer buffer, TensorBuffer base) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        String problem = closed ? "the transport is closed" : unknown(source) ? "device " + source.name() + " is not on this transport"
                : unknown(destination) ? "device " + destination.name() + " is not on this transport"
                : base != null && (base.type() != buffer.type() || base.elements() != buffer.elements())
                        ? "the base " + base.describe() + " of the sum is not the size of its target " + buffer.describe()
                : null;
        if (problem != null) {
            done.completeExceptionally(new TransportException(describe(isSend, source, destination, messageId)
                    + " failed: " + problem));
            return done;
        }
        Waiting mine = new Waiting(isSend, buffer, base, done, source, destination, messageId, new ScheduledFuture<?>[1]);
        MessageKey key = new MessageKey(source.index(), destination.index(), messageId);
        Waiting[] matched = new Waiting[1];
        waiting.compute(key, (k, other) -> {
            if (other == null) {
                return mine;
            }
            matched[0] = other;
            return other.isSend == isSend ? other : null;
        });
        Waiting other = matched[0];
        if (other == null) {
            mine.timeout[0] = timer.schedule(() -> expire(key, mine), timeoutNanos, TimeUnit.NANOSECONDS);
            if (closed) {
                failAll();
            }
        } else if (other.isSend == isSend) {
            done.completeExceptionally(new TransportException(describe(isSend, source, destination, messageId)
                    + " failed: the same message is already " + (isSend ? "being sent" : "being received")
                    + "; each message id is used once at a time"));
        } else {
            deliver(isSend ? mine : other, isSend ? other : mine);
        }
        return done;
    }

    private boolean unknown(Device device) {
        return device.index() >= devices.length || !device.equals(devices[device.index()]);
    }

    private static void deliver(Waiting send, Waiting receive) {
        cancel(send);
        cancel(receive);
        TensorBuffer payload = send.buffer;
        TensorBuffer into = receive.buffer;
        if (payload.type() != into.type() || payload.elements() != into.elements()) {
            TransportException e = new TransportException("message " + send.messageId + " from " + send.source.name() + " to "
                    + send.destination.name() + " carries " + payload.describe() + " but " + send.destination.name() + " expects "
                    + into.describe() + "; both sides of a collective must agree on each part's size");
            send.done.completeExceptionally(e);
            receive.done.completeExceptionally(e);
            return;
        }
        if (receive.base == null) {
            into.copyFrom(payload);
        } else {
            sum(receive.base, payload, into);
        }
        send.done.complete(null);
        receive.done.complete(null);
    }

    private static void sum(TensorBuffer base, TensorBuffer payload, TensorBuffer into) {
        ElementSums[] sums = SUMS.get();
        int type = into.type().ordinal();
        if (sums[type] == null) {
            sums[type] = new ElementSums(into.type(), ElementSums.BLOCK_ELEMENTS);
        }
        ElementSums.Views intoViews = ElementSums.Views.of(into);
        ElementSums.Views baseViews = base == into ? intoViews : ElementSums.Views.of(base);
        sums[type].sum(baseViews, 0, ElementSums.Views.of(payload), 0, intoViews, 0, into.elements());
    }

    private static void cancel(Waiting w) {
        ScheduledFuture<?> t = w.timeout[0];
        if (t != null) {
            t.cancel(false);
        }
    }

    private void expire(MessageKey key, Waiting w) {
        if (waiting.remove(key, w)) {
            w.done.completeExceptionally(new TransportException(describe(w.isSend, w.source, w.destination, w.messageId)
                    + " failed: " + (w.isSend ? w.destination.name() + " posted no matching receive" : w.source.name()
                    + " sent no such message") + " within " + Duration.ofNanos(timeoutNanos)
                    + "; check that every member of the collective runs and uses the same message ids"));
        }
    }

    private static String describe(boolean isSend, Device source, Device destination, long messageId) {
        return (isSend ? "sending" : "receiving") + " message " + messageId + " from " + source.name() + " to "
                + destination.name();
    }

    private void failAll() {
        List<Waiting> left = new ArrayList<>();
        for (MessageKey key : waiting.keySet()) {
            Waiting w = waiting.remove(key);
            if (w != null) {
                left.add(w);
            }
        }
        for (Waiting w : left) {
            cancel(w);
            w.done.completeExceptionally(new TransportException(describe(w.isSend, w.source, w.destination, w.messageId)
                    + " failed: the transport was closed before " + (w.isSend ? w.destination.name() + " received it"
                    : w.source.name() + " sent it")));
        }
    }

    @Override
    public void close() {
        closed = true;
        failAll();
        timer.shutdownNow();
    }
}
