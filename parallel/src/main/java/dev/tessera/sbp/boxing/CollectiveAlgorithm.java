package dev.tessera.sbp.boxing;

/**
 * How a collective moves its data. The planner picks one per collective step
 * ({@link #choose}), records it in the {@link CollectiveStep}, and the byte figures
 * ({@link CollectiveBytes}) and the runtime both follow the recorded choice.
 */
public enum CollectiveAlgorithm {
    /**
     * Members pass parts around a ring, one neighbour each: reduce-scatter and all-gather in
     * p-1 rounds, all-reduce as both (2(p-1) rounds); broadcast and reduce along a chain. One
     * message in flight per link and a chunk of staging memory: the choice for large tensors.
     */
    RING,
    /**
     * Every member sends each peer what that peer needs at once: one round (all-reduce: a
     * direct reduce-scatter, then a direct all-gather, two rounds). Fewer rounds but p-1
     * messages and staging buffers at once: the choice for tiny tensors, whose time is latency.
     * All-to-all is always pairwise, i.e. direct.
     */
    DIRECT;

    /** Tensors of at most this many bytes (the tensor the group holds together) use {@link #DIRECT}. */
    public static final long DIRECT_MAX_BYTES = 16 * 1024;

    /** The algorithm for a collective of {@code conversion} over a group tensor of {@code tensorBytes}. */
    public static CollectiveAlgorithm choose(Conversion conversion, long tensorBytes) {
        if (!conversion.communicates() || conversion == Conversion.ALL_TO_ALL || conversion == Conversion.SEND_RECV) {
            return DIRECT;
        }
        return tensorBytes <= DIRECT_MAX_BYTES ? DIRECT : RING;
    }

    /** The algorithm for a broadcast or a reduce of a tensor of {@code tensorBytes}. */
    public static CollectiveAlgorithm chooseForRooted(long tensorBytes) {
        return tensorBytes <= DIRECT_MAX_BYTES ? DIRECT : RING;
    }

    /** Rounds of messages one run takes over {@code peers} members (before chunking): the latency term of its cost. */
    public int rounds(Conversion conversion, int peers) {
        if (!conversion.communicates() || peers == 1) {
            return 0;
        }
        return switch (conversion) {
            case ALL_REDUCE -> this == RING ? 2 * (peers - 1) : 2;
            case REDUCE_SCATTER, ALL_GATHER -> this == RING ? peers - 1 : 1;
            default -> 1;
        };
    }
}
