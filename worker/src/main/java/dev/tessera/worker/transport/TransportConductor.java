package dev.tessera.worker.transport;

import static dev.tessera.worker.transport.TensorFrameHeaders.BYTE_LENGTH;
import static dev.tessera.worker.transport.TensorFrameHeaders.CHUNK_BYTES;
import static dev.tessera.worker.transport.TensorFrameHeaders.CHUNK_INDEX;
import static dev.tessera.worker.transport.TensorFrameHeaders.DESTINATION_DEVICE;
import static dev.tessera.worker.transport.TensorFrameHeaders.ELEMENT_TYPE;
import static dev.tessera.worker.transport.TensorFrameHeaders.JOB_ID;
import static dev.tessera.worker.transport.TensorFrameHeaders.KIND;
import static dev.tessera.worker.transport.TensorFrameHeaders.LENGTH;
import static dev.tessera.worker.transport.TensorFrameHeaders.MESSAGE_ID;
import static dev.tessera.worker.transport.TensorFrameHeaders.OFFSET;
import static dev.tessera.worker.transport.TensorFrameHeaders.PLAN_VERSION;
import static dev.tessera.worker.transport.TensorFrameHeaders.SENDER_PROCESS;
import static dev.tessera.worker.transport.TensorFrameHeaders.SOURCE_DEVICE;
import static dev.tessera.worker.transport.TensorFrameHeaders.TOTAL_LENGTH;

import dev.tessera.runtime.plan.Device;
import dev.tessera.runtime.transport.ElementSums;
import dev.tessera.runtime.transport.ElementType;
import dev.tessera.runtime.transport.TensorBuffer;
import dev.tessera.runtime.transport.TransportException;
import dev.tessera.worker.transport.RejectedFrames.Reason;
import io.aeron.ExclusivePublication;
import io.aeron.Subscription;
import io.aeron.logbuffer.BufferClaim;
import io.aeron.logbuffer.FragmentHandler;
import io.aeron.logbuffer.Header;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Predicate;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * The transport thread's duty cycle, and all the state it alone owns: posted messages, the
 * rendezvous tables, streaming sends, control frames, peer liveness. One {@link #doWork} takes new
 * posts, polls the subscription (writing chunks straight into posted receive buffers, or summing
 * them out of the term buffer into the target of a receive that sums), streams
 * chunks of matched sends with {@code tryClaim}, sends control frames and heartbeats, and fails
 * what timed out. Back pressure only ends a cycle's work for that publication: it is retried next
 * cycle, never dropped.
 *
 * <p>Protocol (rendezvous): a receive sends RECEIVE_POSTED to the sender's process; a send streams
 * its chunks only once that arrived, so chunks always land in a posted buffer and nothing is
 * staged; the receiver answers DELIVERED when every byte arrived. Chunks of one message come from
 * one exclusive publication, in order, so the receiver expects chunk indices 0, 1, 2, ...
 */
final class TransportConductor {
    private static final int CHUNKS_PER_SEND_PER_CYCLE = 32;
    private static final int FRAGMENTS_PER_POLL = 64;

    private record RemoteReceive(long total, int type, long arrivedNanos) {
    }

    private final AeronSettings settings;
    private final List<AeronPeer> peers;
    private final int self;
    private final Device[] devices;
    private final int[] ownerOf;
    private final Subscription subscription;
    private final PeerPublications out;
    private final PeerPublications.PeerFailure onPeerFailure = this::failPeer;
    private final Queue<Message> posted;
    private final RejectedFrames rejected;
    private final MessageKey probe = new MessageKey();
    private final FragmentHandler onFragment = this::onFragment;
    private final FrameAddend frame = new FrameAddend();
    /** Per element type, the sums of receives that sum; made on the first such receive of the type. */
    private final ElementSums[] sums = new ElementSums[ElementType.values().length];

    private final Map<MessageKey, Message> waitingSends = new HashMap<>();
    private final Map<MessageKey, Message> receives = new HashMap<>();
    private final Map<MessageKey, RemoteReceive> remoteReceives = new HashMap<>();
    private final List<Message> streaming = new ArrayList<>();
    private final long[] lastHeard;
    private final long[] undelivered;
    private final boolean[] servedPeer;
    /** Why each peer is dead (null while it lives): written by this thread, read by posting threads. */
    private final AtomicReferenceArray<String> deadPeer;
    private final long startNanos;
    private final long connectDeadlineNanos;
    private final long peerTimeoutNanos;
    private final long heartbeatNanos;
    private long nextHeartbeatNanos;
    private long nextScanNanos;
    private long now;

    TransportConductor(AeronSettings settings, List<AeronPeer> peers, int self, Device[] devices, int[] ownerOf,
            Subscription subscription, ExclusivePublication[] publications, Queue<Message> posted, RejectedFrames rejected) {
        this.settings = settings;
        this.peers = peers;
        this.self = self;
        this.devices = devices;
        this.ownerOf = ownerOf;
        this.subscription = subscription;
        this.posted = posted;
        this.rejected = rejected;
        int n = peers.size();
        lastHeard = new long[n];
        undelivered = new long[n];
        servedPeer = new boolean[n];
        deadPeer = new AtomicReferenceArray<>(n);
        startNanos = System.nanoTime();
        connectDeadlineNanos = startNanos + settings.connectTimeout().toNanos();
        out = new PeerPublications(settings, peers, self, publications, connectDeadlineNanos);
        peerTimeoutNanos = settings.peerTimeout().toNanos();
        heartbeatNanos = Math.max(1_000_000, peerTimeoutNanos / 10);
    }

    /** @return how much work this cycle did (0 lets the idle strategy idle) */
    int doWork() {
        now = System.nanoTime();
        int work = 0;
        Message m;
        while ((m = posted.poll()) != null) {
            accept(m);
            work++;
        }
        work += subscription.poll(onFragment, FRAGMENTS_PER_POLL);
        work += out.sendControls(now, onPeerFailure);
        work += stream();
        if (now >= nextHeartbeatNanos) {
            out.heartbeat(deadPeer);
            nextHeartbeatNanos = now + heartbeatNanos;
        }
        if (now >= nextScanNanos) {
            scan();
            nextScanNanos = now + 5_000_000;
        }
        return work;
    }

    /** Whether every completed send has been acknowledged by its live receiver. */
    boolean drained() {
        for (int p = 0; p < undelivered.length; p++) {
            if (undelivered[p] > 0 && deadPeer.get(p) == null) {
                return false;
            }
        }
        return out.noControls();
    }

    /** Why messages with {@code peer} fail at once, or null while it lives; safe from any thread. */
    String deadReason(int peer) {
        return deadPeer.get(peer);
    }

    // ---- posts -------------------------------------------------------------------------------

    private void accept(Message m) {
        if (m.remote >= 0 && deadPeer.get(m.remote) != null) {
            fail(m, deadPeer.get(m.remote));
            return;
        }
        m.deadlineNanos = now + settings.deliveryTimeout().toNanos();
        if (m.isSend) {
            if (waitingSends.containsKey(m.key) || isStreaming(m.key)) {
                fail(m, "the same message is already being sent; each message id is used once at a time");
                return;
            }
            if (m.remote < 0) {
                Message receive = receives.remove(m.key);
                if (receive != null) {
                    copyLocally(m, receive);
                } else {
                    waitingSends.put(m.key, m);
                }
                return;
            }
            RemoteReceive remote = remoteReceives.remove(m.key);
            if (remote != null) {
                match(m, remote.total, remote.type);
            } else {
                waitingSends.put(m.key, m);
            }
        } else {
            if (receives.containsKey(m.key)) {
                fail(m, "the same message is already being received; each message id is used once at a time");
                return;
            }
            if (m.remote < 0) {
                Message send = waitingSends.remove(m.key);
                if (send != null) {
                    copyLocally(send, m);
                    return;
                }
            } else {
                out.queue(m.remote, TensorFrameHeaders.RECEIVE_POSTED, m.source.index(),
                        m.destination.index(), m.id, m.total(), TensorFrameHeaders.wireType(m.buffer.type()));
            }
            receives.put(m.key, m);
        }
    }

    private boolean isStreaming(MessageKey key) {
        for (Message s : streaming) {
            if (s.key.equals(key)) {
                return true;
            }
        }
        return false;
    }

    private void copyLocally(Message send, Message receive) {
        if (send.buffer.type() != receive.buffer.type() || send.buffer.elements() != receive.buffer.elements()) {
            String why = mismatch(send, send.buffer.describe(), receive.buffer.describe());
            fail(send, why);
            fail(receive, why);
            return;
        }
        if (receive.base == null) {
            receive.buffer.copyFrom(send.buffer);
        } else {
            sums(receive.buffer.type()).sum(receive.baseViews, 0, ElementSums.Views.of(send.buffer), 0, receive.intoViews,
                    0, receive.buffer.elements());
        }
        send.done.complete(null);
        receive.done.complete(null);
    }

    private static String mismatch(Message send, String carries, String expects) {
        return "message " + send.id + " from " + send.source.name() + " to " + send.destination.name() + " carries "
                + carries + " but " + send.destination.name() + " expects " + expects
                + "; both sides of a collective must agree on each part's size";
    }

    /** A send meets its posted receive: refuse it when they disagree, else start streaming. */
    private void match(Message send, long total, int type) {
        if (total != send.total() || type != TensorFrameHeaders.wireType(send.buffer.type())) {
            String expects = TensorFrameHeaders.typeName(type) + "[" + total / TensorFrameHeaders.elementBytes(type) + "]";
            fail(send, mismatch(send, send.buffer.describe(), expects));
            out.queue(send.remote, TensorFrameHeaders.REFUSED, send.source.index(),
                    send.destination.index(), send.id, send.total(), TensorFrameHeaders.wireType(send.buffer.type()));
            return;
        }
        streaming.add(send);
    }

    // ---- sending ------------------------------------------------------------------------------

    /**
     * Streams the oldest matched send to each peer: one message after the other per peer (as a
     * byte stream would), so the first completes first and its receiver can re-post early.
     */
    private int stream() {
        int work = 0;
        int chunkBytes = settings.chunkBytes();
        java.util.Arrays.fill(servedPeer, false);
        for (int i = 0; i < streaming.size(); i++) {
            Message m = streaming.get(i);
            if (servedPeer[m.remote]) {
                continue;
            }
            servedPeer[m.remote] = true;
            ExclusivePublication publication = out.publication(m.remote);
            BufferClaim claim = out.claim();
            long total = m.total();
            for (int c = 0; c < CHUNKS_PER_SEND_PER_CYCLE; c++) {
                int length = (int) Math.min(chunkBytes, total - m.progress);
                long result = publication.tryClaim(LENGTH + length, claim);
                if (result < 0) {
                    if (!out.retryable(result, m.remote, now)) {
                        streaming.remove(i--);
                        fail(m, out.refusal(result, m.remote));
                    }
                    break;
                }
                MutableDirectBuffer b = claim.buffer();
                int at = claim.offset();
                TensorFrameHeaders.write(b, at, TensorFrameHeaders.CHUNK, settings.jobId(), settings.planVersion(),
                        m.source.index(), m.destination.index(), m.id, m.nextChunk, m.progress, length, chunkBytes, total,
                        TensorFrameHeaders.wireType(m.buffer.type()), self);
                b.putBytes(at + LENGTH, m.bytes, (int) m.progress, length);
                claim.commit();
                work++;
                m.progress += length;
                m.nextChunk++;
                if (m.progress == total) {
                    streaming.remove(i--);
                    servedPeer[m.remote] = false;
                    undelivered[m.remote]++;
                    m.done.complete(null);
                    break;
                }
            }
        }
        return work;
    }

    // ---- receiving ----------------------------------------------------------------------------

    private void onFragment(DirectBuffer buffer, int offset, int length, Header header) {
        if (!TensorFrameHeaders.hasLayout(buffer, offset, length)) {
            rejected.reject(Reason.MALFORMED, length + " bytes that are not a TensorFrameHeader followed by its payload");
            return;
        }
        long job = TensorFrameHeaders.getLong(buffer, offset, JOB_ID);
        int plan = TensorFrameHeaders.getInt(buffer, offset, PLAN_VERSION);
        if (job != settings.jobId() || plan != settings.planVersion()) {
            rejected.reject(Reason.FOREIGN_JOB, "job " + job + " plan version " + plan + ", expected job " + settings.jobId()
                    + " plan version " + settings.planVersion());
            return;
        }
        int sender = TensorFrameHeaders.getInt(buffer, offset, SENDER_PROCESS);
        if (sender < 0 || sender >= peers.size() || sender == self) {
            rejected.reject(Reason.MALFORMED, "sender process " + sender + " is not a peer");
            return;
        }
        lastHeard[sender] = now;
        int kind = TensorFrameHeaders.getByte(buffer, offset, KIND);
        if (kind == TensorFrameHeaders.HEARTBEAT) {
            return;
        }
        int source = TensorFrameHeaders.getInt(buffer, offset, SOURCE_DEVICE);
        int destination = TensorFrameHeaders.getInt(buffer, offset, DESTINATION_DEVICE);
        long id = TensorFrameHeaders.getLong(buffer, offset, MESSAGE_ID);
        boolean fromReceiver = kind == TensorFrameHeaders.RECEIVE_POSTED || kind == TensorFrameHeaders.DELIVERED
                || kind == TensorFrameHeaders.CANCELLED;
        int remoteDevice = fromReceiver ? destination : source;
        int localDevice = fromReceiver ? source : destination;
        if (owner(remoteDevice) != sender || owner(localDevice) != self) {
            rejected.reject(Reason.MISROUTED, "message " + id + " from device " + source + " to device " + destination
                    + " sent by process " + sender);
            return;
        }
        probe.set(source, destination, id);
        switch (kind) {
            case TensorFrameHeaders.CHUNK -> onChunk(buffer, offset, length);
            case TensorFrameHeaders.RECEIVE_POSTED -> onReceivePosted(buffer, offset);
            case TensorFrameHeaders.DELIVERED -> {
                if (undelivered[sender] > 0) {
                    undelivered[sender]--;
                } else {
                    rejected.reject(Reason.UNEXPECTED, "delivery notice of message " + id + " that was not sent");
                }
            }
            case TensorFrameHeaders.CANCELLED -> onCancelled();
            case TensorFrameHeaders.REFUSED -> {
                Message receive = receives.remove(probe);
                if (receive == null) {
                    rejected.reject(Reason.UNEXPECTED, "refusal of message " + id + " that is not being received");
                    return;
                }
                int type = TensorFrameHeaders.getByte(buffer, offset, ELEMENT_TYPE);
                long total = TensorFrameHeaders.getLong(buffer, offset, TOTAL_LENGTH);
                fail(receive, mismatch(receive, TensorFrameHeaders.typeName(type) + "["
                        + total / TensorFrameHeaders.elementBytes(type) + "]", receive.buffer.describe()));
            }
            default -> rejected.reject(Reason.MALFORMED, "frame kind " + kind);
        }
    }

    private int owner(int device) {
        return device >= 0 && device < ownerOf.length ? ownerOf[device] : -1;
    }

    private void onReceivePosted(DirectBuffer buffer, int offset) {
        long total = TensorFrameHeaders.getLong(buffer, offset, TOTAL_LENGTH);
        int type = TensorFrameHeaders.getByte(buffer, offset, ELEMENT_TYPE);
        Message send = waitingSends.remove(probe);
        if (send != null) {
            match(send, total, type);
        } else if (remoteReceives.containsKey(probe)) {
            rejected.reject(Reason.UNEXPECTED, "a second receive notice for message " + probe.id);
        } else {
            remoteReceives.put(probe.copy(), new RemoteReceive(total, type, now));
        }
    }

    /** The receiver gave up: forget its notice, and fail the send if it is streaming. */
    private void onCancelled() {
        if (remoteReceives.remove(probe) != null) {
            return;
        }
        for (int i = 0; i < streaming.size(); i++) {
            Message m = streaming.get(i);
            if (m.key.equals(probe)) {
                streaming.remove(i);
                fail(m, m.destination.name() + " withdrew its receive (its delivery time-out passed or it closed) after "
                        + m.progress + " of " + m.total() + " bytes");
                return;
            }
        }
    }

    private void onChunk(DirectBuffer buffer, int offset, int length) {
        Message r = receives.get(probe);
        if (r == null) {
            rejected.reject(Reason.UNEXPECTED, "a chunk of message " + probe.id + " from device " + probe.source
                    + " that no receive here waits for");
            return;
        }
        long total = TensorFrameHeaders.getLong(buffer, offset, TOTAL_LENGTH);
        int type = TensorFrameHeaders.getByte(buffer, offset, ELEMENT_TYPE);
        int byteLength = TensorFrameHeaders.getInt(buffer, offset, BYTE_LENGTH);
        int chunkBytes = TensorFrameHeaders.getInt(buffer, offset, CHUNK_BYTES);
        int index = TensorFrameHeaders.getInt(buffer, offset, CHUNK_INDEX);
        long at = TensorFrameHeaders.getLong(buffer, offset, OFFSET);
        if (total != r.total() || type != TensorFrameHeaders.wireType(r.buffer.type()) || byteLength != length - LENGTH
                || chunkBytes <= 0 || chunkBytes % TensorFrameHeaders.elementBytes(type) != 0
                || (r.chunkBytes > 0 && chunkBytes != r.chunkBytes)) {
            rejected.reject(Reason.WRONG_LENGTH, "chunk " + index + " of message " + probe.id + ": " + byteLength
                    + " bytes in a frame of " + length + ", chunks of " + chunkBytes + ", total " + total + " "
                    + TensorFrameHeaders.typeName(type) + " where " + r.buffer.describe() + " is posted");
            return;
        }
        if (index < r.nextChunk && index >= 0) {
            rejected.reject(Reason.DUPLICATE_CHUNK, "chunk " + index + " of message " + probe.id + " again");
            return;
        }
        if (index != r.nextChunk || at != (long) index * chunkBytes || at > total
                || byteLength != Math.min(chunkBytes, total - at)) {
            rejected.reject(Reason.OUT_OF_RANGE_CHUNK, "chunk " + index + " at offset " + at + " of " + byteLength
                    + " bytes of message " + probe.id + " (" + total + " bytes, next chunk " + r.nextChunk + ")");
            return;
        }
        r.chunkBytes = chunkBytes;
        r.deadlineNanos = now + settings.deliveryTimeout().toNanos();
        if (r.base == null) {
            r.bytes.putBytes((int) at, buffer, offset + LENGTH, byteLength);
        } else {
            sumChunk(r, (int) at, buffer, offset + LENGTH, byteLength);
        }
        r.nextChunk++;
        r.progress += byteLength;
        if (r.progress == total) {
            receives.remove(probe);
            out.queue(r.remote, TensorFrameHeaders.DELIVERED, r.source.index(), r.destination.index(),
                    r.id, total, type);
            r.done.complete(null);
        }
    }

    /**
     * Writes base + chunk into the receive's target at byte {@code at}; chunks hold whole elements
     * (the chunk size is checked to be a multiple of the element size).
     */
    private void sumChunk(Message r, int at, DirectBuffer buffer, int payload, int byteLength) {
        TensorBuffer into = r.buffer;
        int size = into.type().bytes();
        int first = at / size;
        sums(into.type()).sum(r.baseViews, first, frame.wrap(buffer, payload, byteLength), 0, r.intoViews, first,
                byteLength / size);
    }

    private ElementSums sums(ElementType type) {
        ElementSums s = sums[type.ordinal()];
        if (s == null) {
            s = new ElementSums(type, ElementSums.BLOCK_ELEMENTS);
            sums[type.ordinal()] = s;
        }
        return s;
    }

    // ---- time-outs and failures ---------------------------------------------------------------

    private void scan() {
        for (int p = 0; p < peers.size(); p++) {
            if (p == self || deadPeer.get(p) != null) {
                continue;
            }
            if (lastHeard[p] != 0 && now - lastHeard[p] > peerTimeoutNanos) {
                failPeer(p, "peer " + peers.get(p).name() + " stopped responding: nothing heard from it for "
                        + Duration.ofNanos(now - lastHeard[p]).toMillis() + " ms (transport.aeron.peer-timeout is "
                        + settings.peerTimeout() + "); its process may have died");
            } else if (lastHeard[p] == 0 && now > connectDeadlineNanos && involves(p)) {
                failPeer(p, "peer " + peers.get(p).name() + " did not connect within " + settings.connectTimeout()
                        + " (transport.aeron.connect-timeout); check that it runs and subscribes on "
                        + peers.get(p).channel() + " stream " + peers.get(p).streamId());
            }
        }
        expire(waitingSends);
        Iterator<Message> it = receives.values().iterator();
        while (it.hasNext()) {
            Message m = it.next();
            if (now <= m.deadlineNanos) {
                continue;
            }
            it.remove();
            cancel(m);
            if (m.nextChunk == 0) {
                fail(m, m.source.name() + " sent no such message within " + settings.deliveryTimeout()
                        + "; check that every member of the collective runs and uses the same message ids");
            } else {
                rejected.reject(Reason.TRUNCATED_TENSOR, m.describe() + ": " + m.progress + " of " + m.total()
                        + " bytes arrived, then nothing for " + settings.deliveryTimeout());
                fail(m, "the tensor stopped arriving after " + m.progress + " of " + m.total() + " bytes; "
                        + m.source.name() + " sent no further chunk within " + settings.deliveryTimeout());
            }
        }
        long staleNanos = settings.deliveryTimeout().toNanos();
        remoteReceives.values().removeIf(r -> now - r.arrivedNanos > staleNanos);
    }

    private void expire(Map<MessageKey, Message> sends) {
        Iterator<Message> it = sends.values().iterator();
        while (it.hasNext()) {
            Message m = it.next();
            if (now > m.deadlineNanos) {
                it.remove();
                fail(m, m.destination.name() + " posted no matching receive within " + settings.deliveryTimeout()
                        + "; check that every member of the collective runs and uses the same message ids");
            }
        }
    }

    private boolean involves(int peer) {
        Predicate<Message> withPeer = m -> m.remote == peer;
        return waitingSends.values().stream().anyMatch(withPeer) || receives.values().stream().anyMatch(withPeer)
                || streaming.stream().anyMatch(withPeer) || out.hasControls(peer);
    }

    /** Fails every message with {@code peer} and every later one. */
    private void failPeer(int peer, String why) {
        deadPeer.set(peer, why);
        out.dropControls(peer);
        failWhere(m -> m.remote == peer, why);
    }

    /** Fails every message still posted (close), telling the senders of remote receives. */
    void failAll(String why) {
        Message m;
        while ((m = posted.poll()) != null) {
            fail(m, why);
        }
        for (Message r : receives.values()) {
            cancel(r);
        }
        failWhere(x -> true, why);
    }

    /** Tells the sender of a withdrawn remote receive, unless that sender is dead. */
    private void cancel(Message receive) {
        if (receive.remote >= 0 && deadPeer.get(receive.remote) == null) {
            out.queue(receive.remote, TensorFrameHeaders.CANCELLED, receive.source.index(), receive.destination.index(),
                    receive.id, receive.total(), TensorFrameHeaders.wireType(receive.buffer.type()));
        }
    }

    private void failWhere(Predicate<Message> which, String why) {
        List<Message> failed = new ArrayList<>();
        for (Map<MessageKey, Message> table : List.of(waitingSends, receives)) {
            table.values().removeIf(m -> which.test(m) && failed.add(m));
        }
        streaming.removeIf(m -> which.test(m) && failed.add(m));
        for (Message m : failed) {
            if (!m.isSend && m.progress > 0) {
                rejected.reject(Reason.TRUNCATED_TENSOR, m.describe() + ": " + m.progress + " of " + m.total()
                        + " bytes arrived");
                fail(m, why + " (" + m.progress + " of " + m.total() + " bytes had arrived)");
            } else {
                fail(m, why);
            }
        }
    }

    private static void fail(Message m, String why) {
        m.done.completeExceptionally(new TransportException(m.describe() + " failed: " + why));
    }
}
