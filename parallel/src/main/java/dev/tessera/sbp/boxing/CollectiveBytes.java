package dev.tessera.sbp.boxing;

import dev.tessera.sbp.Region;

/**
 * The bytes each member of a group sends for one run of a collective with a given algorithm,
 * exact for parts of unequal size (the boxing table's figures; the runtime's counted bytes are
 * tested against them). With {@code E} the elements of the group tensor, {@code b_i}/{@code a_i}
 * member i's regions before/after and {@code f_i} the all-reduce's row-major parts:
 *
 * <pre>
 *   all-reduce      ring    (E - f_i) + (E - f_{i+1})     even: 2(p-1)/p |T|
 *                   direct  (E - f_i) + (p-1) f_i
 *   reduce-scatter  both    E - a_i                       even: (p-1)/p |T|
 *   all-gather      ring    E - b_{i+1}                   even: (p-1)/p |T|
 *                   direct  (p-1) b_i
 *   all-to-all      direct  b_i - (b_i and a_i)           even: (p-1)/p^2 |T|
 *   slice, zero-fill, zero-pad: 0
 * </pre>
 *
 * Indices are mod p; a ring member sends to member i+1 and receives from member i-1.
 */
public final class CollectiveBytes {
    private CollectiveBytes() {
    }

    /** Bytes member {@code member} sends in {@code parts}'s conversion with {@code algorithm}. */
    public static long sentBy(GroupParts parts, CollectiveAlgorithm algorithm, int member, int elementBytes) {
        int p = parts.peers();
        if (p == 1) {
            return 0;
        }
        long e = parts.elements();
        long elements = switch (parts.conversion()) {
            case ALL_REDUCE -> algorithm == CollectiveAlgorithm.RING
                    ? (e - parts.flatPartLength(member)) + (e - parts.flatPartLength((member + 1) % p))
                    : (e - parts.flatPartLength(member)) + (p - 1) * parts.flatPartLength(member);
            case REDUCE_SCATTER -> e - parts.after(member).elements();
            case ALL_GATHER -> algorithm == CollectiveAlgorithm.RING ? e - parts.before((member + 1) % p).elements()
                    : (p - 1) * parts.before(member).elements();
            case ALL_TO_ALL -> {
                Region mine = parts.before(member);
                yield mine.elements() - mine.intersect(parts.after(member)).elements();
            }
            case LOCAL_SLICE, ZERO_FILL, ZERO_PAD -> 0;
            case SEND_RECV -> throw new IllegalArgumentException("send/recv has no group; see SendRecvStep");
        };
        return elements * elementBytes;
    }

    /**
     * Bytes member {@code member} sends broadcasting {@code tensorBytes} from {@code root}: a ring
     * (chain root, root+1, ..., root-1) has every member but the last forward the tensor once;
     * direct has the root send it to each peer.
     */
    public static long broadcast(CollectiveAlgorithm algorithm, int peers, int root, int member, long tensorBytes) {
        if (algorithm == CollectiveAlgorithm.RING) {
            return member == Math.floorMod(root - 1, peers) ? 0 : tensorBytes;
        }
        return member == root ? (peers - 1) * tensorBytes : 0;
    }

    /**
     * Bytes member {@code member} sends reducing {@code tensorBytes} onto {@code root}: every
     * other member sends one tensor, along the chain root+1, ..., root (ring) or to the root (direct).
     */
    public static long reduce(CollectiveAlgorithm algorithm, int peers, int root, int member, long tensorBytes) {
        return member == root ? 0 : tensorBytes;
    }
}
