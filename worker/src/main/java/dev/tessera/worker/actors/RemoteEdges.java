package dev.tessera.worker.actors;

import dev.tessera.runtime.transport.TransportException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * What the remote send and receive actors of one process share: the ids of their messages on the
 * tensor transport, and the sends still in flight, which a run waits for before it reports.
 *
 * <p>Message ids: the top 16 bits are {@link #GROUP} (collective groups use 0 .. 65534 there, so
 * the two never meet), then one bit for the plan (training or gradients only: both may run at
 * the same iteration), 19 bits of remote edge id and 28 bits of the global step
 * ({@code iteration * micro_batches + micro_batch}). Every process computes the same id for the
 * two ends of one edge and step.
 */
final class RemoteEdges {
    /** The collective group id the plan edges' messages use; the plan compiler never assigns it. */
    static final int GROUP = 0xFFFF;
    private static final int EDGE_BITS = 19;
    private static final int STEP_BITS = 28;

    private final boolean gradientsOnly;
    private final Duration deliveryTimeout;
    private final ConcurrentLinkedQueue<CompletableFuture<Void>> pendingSends = new ConcurrentLinkedQueue<>();
    private final Map<CompletableFuture<Void>, Long> pendingReceives = new ConcurrentHashMap<>();
    private volatile RuntimeException abandonedBy;
    private volatile long abandonedFrom = Long.MAX_VALUE;

    RemoteEdges(boolean gradientsOnly, Duration deliveryTimeout) {
        this.gradientsOnly = gradientsOnly;
        this.deliveryTimeout = deliveryTimeout;
    }

    long messageId(int edge, long globalStep) {
        if (edge >= 1 << EDGE_BITS || globalStep >= 1L << STEP_BITS) {
            throw new IllegalStateException("remote edge " + edge + " at step " + globalStep + " does not fit a message "
                    + "id (at most " + (1 << EDGE_BITS) + " remote edges and " + (1L << STEP_BITS) + " steps)");
        }
        return (long) GROUP << 48 | (gradientsOnly ? 1L : 0L) << 47 | (long) edge << STEP_BITS | globalStep;
    }

    /**
     * A receive of {@code iteration} that also ends, exceptionally with the abandon's reason, when
     * {@link #abandon} is called for that iteration or an earlier one (or was before it started).
     */
    CompletionStage<Void> receiving(long iteration, CompletionStage<Void> receive) {
        CompletableFuture<Void> waiting = new CompletableFuture<>();
        pendingReceives.put(waiting, iteration);
        receive.whenComplete((done, failed) -> {
            pendingReceives.remove(waiting);
            if (failed == null) {
                waiting.complete(null);
            } else {
                waiting.completeExceptionally(failed);
            }
        });
        if (iteration >= abandonedFrom) {
            waiting.completeExceptionally(abandonedBy);
        }
        return waiting;
    }

    /**
     * Fails every receive of {@code iteration} or later, now and until {@link #resume}: another
     * process stopped there and will send nothing more. Any thread may call it.
     */
    void abandon(long iteration, RuntimeException reason) {
        abandonedBy = reason;
        abandonedFrom = iteration;
        pendingReceives.forEach((waiting, of) -> {
            if (of >= iteration) {
                waiting.completeExceptionally(reason);
            }
        });
    }

    /** Receives wait for their messages again (after a restore). */
    void resume() {
        abandonedFrom = Long.MAX_VALUE;
        abandonedBy = null;
    }

    void sent(CompletableFuture<Void> send) {
        pendingSends.add(send);
    }

    /**
     * Waits until every send posted so far completed: the run's tensors have left this process.
     *
     * @throws TransportException the first send's failure, or naming the time-out
     */
    void awaitSends() {
        CompletableFuture<Void> send;
        while ((send = pendingSends.poll()) != null) {
            try {
                send.get(deliveryTimeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (ExecutionException failed) {
                throw failed.getCause() instanceof TransportException transport ? transport
                        : new TransportException("a remote send failed: " + failed.getCause());
            } catch (TimeoutException late) {
                throw new TransportException("a remote send was not delivered within " + deliveryTimeout
                        + "; its receiving process may have stopped");
            } catch (InterruptedException interrupted) {
                Thread.currentThread().interrupt();
                throw new TransportException("interrupted while waiting for remote sends");
            }
        }
    }
}
