package dev.tessera.worker.transport;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Counts the frames a transport rejected, by reason, and logs the first few of each reason (then
 * every thousandth), so a misconfigured peer is visible without flooding the log. A rejected frame
 * changes no tensor and no message's state.
 */
public final class RejectedFrames {
    /** Why a frame was rejected. */
    public enum Reason {
        /** Not the fixed header layout, an unknown kind, or a sender outside the peer list. */
        MALFORMED,
        /** Another job id or plan version. */
        FOREIGN_JOB,
        /** Names a device that is not the sender's or not this process's. */
        MISROUTED,
        /** The byte length disagrees with the frame, or the total length or type with the posted receive. */
        WRONG_LENGTH,
        /** A chunk this receive already has (its index is below the next one expected). */
        DUPLICATE_CHUNK,
        /** A chunk index or offset beyond the tensor or out of order. */
        OUT_OF_RANGE_CHUNK,
        /** A chunk or control frame for a message nobody here waits for (never posted, failed or complete). */
        UNEXPECTED,
        /** A tensor that stopped arriving part way: its sender died or closed (counted when the receive fails). */
        TRUNCATED_TENSOR
    }

    private static final System.Logger LOG = System.getLogger(RejectedFrames.class.getName());
    private final AtomicLongArray counts = new AtomicLongArray(Reason.values().length);
    private final String owner;

    RejectedFrames(String owner) {
        this.owner = owner;
    }

    void reject(Reason reason, String detail) {
        long n = counts.incrementAndGet(reason.ordinal());
        if (n <= 5 || n % 1000 == 0) {
            LOG.log(System.Logger.Level.WARNING, owner + " rejected a frame (" + reason + ", " + n + " so far): " + detail);
        }
    }

    /** Frames rejected for {@code reason} so far. */
    public long count(Reason reason) {
        return counts.get(reason.ordinal());
    }

    /** Frames rejected for any reason so far. */
    public long total() {
        long sum = 0;
        for (int i = 0; i < counts.length(); i++) {
            sum += counts.get(i);
        }
        return sum;
    }

    /** Every non-zero count. */
    public Map<Reason, Long> counts() {
        Map<Reason, Long> out = new EnumMap<>(Reason.class);
        for (Reason r : Reason.values()) {
            if (count(r) > 0) {
                out.put(r, count(r));
            }
        }
        return out;
    }
}
