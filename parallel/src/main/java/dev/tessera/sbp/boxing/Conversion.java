package dev.tessera.sbp.boxing;

/**
 * The kinds of step a boxing plan is made of, with how many bytes each device sends for one
 * run over a group of {@code p} devices on a tensor of {@code |T|} bytes when the parts are of
 * equal size (the exact per-member figures, for any sizes and either algorithm, are
 * {@link CollectiveBytes}'s).
 * {@code |T|} is always the tensor the group holds together: the reduced tensor for all-reduce
 * and reduce-scatter, the gathered one for all-gather and all-to-all.
 */
public enum Conversion {
    /** P -> B: every device gets the sum of the group's partial values; 2(p-1)/p |T|. */
    ALL_REDUCE("all-reduce"),
    /** P -> S(i): every device gets its part of the sum; (p-1)/p |T|. */
    REDUCE_SCATTER("reduce-scatter"),
    /** S(i) -> B: every device gets the concatenation of the group's parts; (p-1)/p |T|. */
    ALL_GATHER("all-gather"),
    /** S(i) -> S(j): parts along i are re-cut along j, each member sending each peer its overlap; (p-1)/p^2 |T|. */
    ALL_TO_ALL("all-to-all"),
    /** B -> S(i): every device keeps its part of the copy it has; no communication. */
    LOCAL_SLICE("local-slice"),
    /** B -> P: the group's first device keeps the value, the others hold zeros; no communication. */
    ZERO_FILL("zero-fill"),
    /** S(i) -> P: every device puts its part into zeros of the group's full shape; no communication. */
    ZERO_PAD("zero-pad"),
    /** Between placements: pieces of the tensor move from device to device; |T| of each piece. */
    SEND_RECV("send/recv");

    private final String label;

    Conversion(String label) {
        this.label = label;
    }

    /** Bytes each device of a group of {@code peers} sends for a tensor of {@code tensorBytes} cut into equal parts. */
    public double bytesPerDevice(int peers, long tensorBytes) {
        double share = (double) (peers - 1) / peers * tensorBytes;
        return switch (this) {
            case ALL_REDUCE -> 2 * share;
            case REDUCE_SCATTER, ALL_GATHER -> share;
            case ALL_TO_ALL -> share / peers;
            case LOCAL_SLICE, ZERO_FILL, ZERO_PAD -> 0;
            case SEND_RECV -> tensorBytes;
        };
    }

    public boolean communicates() {
        return this != LOCAL_SLICE && this != ZERO_FILL && this != ZERO_PAD;
    }

    @Override
    public String toString() {
        return label;
    }
}
