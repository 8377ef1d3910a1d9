package dev.tessera.runtime.transport;

import dev.tessera.runtime.plan.Device;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A {@link Communicator} over a {@link Transport}: a group's message ids are its tags with the
 * group id in the top 16 bits, so several groups (the peer groups of a hierarchy axis, or two
 * collectives of one step) share one transport. Counts what this member sends, here and in a
 * {@link SentBytes} shared by the run, when each send completes.
 */
public final class TransportCommunicator implements Communicator {
    private final Transport transport;
    private final Device[] group;
    private final int rank;
    private final long groupBits;
    private final SentBytes sentBytes;
    private long sent;

    /**
     * @param groupId identifies the group on the transport, 0 to 65535; every member of a group uses the same id
     * @param group the members' devices in rank order
     * @param rank this member's rank
     */
    public TransportCommunicator(Transport transport, int groupId, List<Device> group, int rank, SentBytes sentBytes) {
        if (groupId < 0 || groupId > 0xFFFF) {
            throw new IllegalArgumentException("group id " + groupId + " is outside 0..65535");
        }
        if (rank < 0 || rank >= group.size()) {
            throw new IllegalArgumentException("rank " + rank + " is outside the group " + group);
        }
        this.transport = transport;
        this.group = group.toArray(Device[]::new);
        this.rank = rank;
        this.groupBits = (long) groupId << 48;
        this.sentBytes = sentBytes;
    }

    @Override
    public int rank() {
        return rank;
    }

    @Override
    public int size() {
        return group.length;
    }

    @Override
    public Device device(int rank) {
        return group[rank];
    }

    @Override
    public CompletableFuture<Void> send(int peer, long tag, TensorBuffer payload) {
        CompletableFuture<Void> done = transport.send(group[rank], group[peer], messageId(tag), payload);
        int bytes = payload.byteSize();
        return done.thenRun(() -> count(bytes));
    }

    private synchronized void count(int bytes) {
        sent += bytes;
        sentBytes.add(group[rank], bytes);
    }

    @Override
    public CompletableFuture<Void> receive(int peer, long tag, TensorBuffer into) {
        return transport.receive(group[rank], group[peer], messageId(tag), into);
    }

    @Override
    public CompletableFuture<Void> receiveSum(int peer, long tag, TensorBuffer base, TensorBuffer into) {
        return transport.receiveSum(group[rank], group[peer], messageId(tag), base, into);
    }

    @Override
    public synchronized long bytesSent() {
        return sent;
    }

    private long messageId(long tag) {
        if (tag < 0 || tag > MAX_TAG) {
            throw new IllegalArgumentException("tag " + tag + " is outside 0.." + MAX_TAG);
        }
        return groupBits | tag;
    }
}
