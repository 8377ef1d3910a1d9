package dev.tessera.worker.transport;

import static dev.tessera.worker.transport.TensorFrameHeaders.LENGTH;

import io.aeron.ExclusivePublication;
import io.aeron.Publication;
import io.aeron.logbuffer.BufferClaim;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The transport thread's side of its publications: one per peer, the control frames waiting for
 * each (receive posted, delivered, refused), heartbeats, and what an Aeron publication result
 * means. Back pressure and admin actions are retried next cycle; not-connected until the connect
 * time-out (or at once once the peer had connected); anything else fails the peer.
 */
final class PeerPublications {
    /** Told when a peer can no longer be published to. */
    interface PeerFailure {
        void failed(int peer, String why);
    }

    private record Control(int kind, int source, int destination, long id, long total, int type) {
    }

    private final AeronSettings settings;
    private final List<AeronPeer> peers;
    private final int self;
    private final ExclusivePublication[] publications;
    private final ArrayDeque<Control>[] controls;
    private final boolean[] connectedOnce;
    private final long connectDeadlineNanos;
    private final BufferClaim claim = new BufferClaim();

    @SuppressWarnings("unchecked")
    PeerPublications(AeronSettings settings, List<AeronPeer> peers, int self, ExclusivePublication[] publications,
            long connectDeadlineNanos) {
        this.settings = settings;
        this.peers = peers;
        this.self = self;
        this.publications = publications;
        this.connectDeadlineNanos = connectDeadlineNanos;
        controls = new ArrayDeque[peers.size()];
        for (int p = 0; p < controls.length; p++) {
            controls[p] = new ArrayDeque<>();
        }
        connectedOnce = new boolean[peers.size()];
    }

    ExclusivePublication publication(int peer) {
        return publications[peer];
    }

    /** The claim every frame of this thread is written through. */
    BufferClaim claim() {
        return claim;
    }

    /** Queues a header-only frame to {@code peer}. */
    void queue(int peer, int kind, int source, int destination, long id, long total, int type) {
        controls[peer].add(new Control(kind, source, destination, id, total, type));
    }

    boolean hasControls(int peer) {
        return !controls[peer].isEmpty();
    }

    boolean noControls() {
        for (ArrayDeque<Control> q : controls) {
            if (!q.isEmpty()) {
                return false;
            }
        }
        return true;
    }

    void dropControls(int peer) {
        controls[peer].clear();
    }

    /** Sends what control frames the publications take now; @return how many */
    int sendControls(long now, PeerFailure onFailure) {
        int work = 0;
        for (int p = 0; p < controls.length; p++) {
            ArrayDeque<Control> queue = controls[p];
            Control c;
            while ((c = queue.peek()) != null) {
                long result = publications[p].tryClaim(LENGTH, claim);
                if (result < 0) {
                    if (!retryable(result, p, now)) {
                        queue.clear();
                        onFailure.failed(p, refusal(result, p));
                    }
                    break;
                }
                TensorFrameHeaders.write(claim.buffer(), claim.offset(), c.kind, settings.jobId(), settings.planVersion(),
                        c.source, c.destination, c.id, 0, 0, 0, 0, c.total, c.type, self);
                claim.commit();
                queue.poll();
                work++;
            }
        }
        return work;
    }

    /** One heartbeat to every live peer whose publication takes it now (a missed one is not retried). */
    void heartbeat(AtomicReferenceArray<String> deadPeer) {
        for (int p = 0; p < publications.length; p++) {
            ExclusivePublication publication = publications[p];
            if (publication == null || deadPeer.get(p) != null) {
                continue;
            }
            if (publication.isConnected()) {
                connectedOnce[p] = true;
            }
            if (publication.tryClaim(LENGTH, claim) > 0) {
                TensorFrameHeaders.write(claim.buffer(), claim.offset(), TensorFrameHeaders.HEARTBEAT, settings.jobId(),
                        settings.planVersion(), 0, 0, 0, 0, 0, 0, 0, 0, 0, self);
                claim.commit();
            }
        }
    }

    /** Whether a negative {@code tryClaim} result is to be retried next cycle. */
    boolean retryable(long result, int peer, long now) {
        if (result == Publication.BACK_PRESSURED || result == Publication.ADMIN_ACTION) {
            return true;
        }
        if (result == Publication.NOT_CONNECTED) {
            return !connectedOnce[peer] && now < connectDeadlineNanos;
        }
        return false;
    }

    /** Why a result that is not retried ends the messages with {@code peer}, in a user's words. */
    String refusal(long result, int peer) {
        AeronPeer p = peers.get(peer);
        if (result == Publication.NOT_CONNECTED) {
            return connectedOnce[peer] ? "peer " + p.name() + " disconnected (its process stopped or closed its transport)"
                    : "peer " + p.name() + " did not connect within " + settings.connectTimeout() + " (transport.aeron"
                    + ".connect-timeout); check that it runs and subscribes on " + p.channel() + " stream " + p.streamId();
        }
        if (result == Publication.CLOSED) {
            return "the publication to peer " + p.name() + " is closed";
        }
        if (result == Publication.MAX_POSITION_EXCEEDED) {
            return "the publication to peer " + p.name() + " reached its maximum position; raise transport.aeron.term-length";
        }
        return "publishing to peer " + p.name() + " failed with Aeron result " + result;
    }
}
