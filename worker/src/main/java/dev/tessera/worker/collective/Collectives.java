package dev.tessera.worker.collective;

import dev.tessera.sbp.boxing.CollectiveAlgorithm;
import dev.tessera.sbp.boxing.GroupParts;

/**
 * The schedules of every collective for one member, by conversion and algorithm: what a member
 * actor runs over its Communicator. The algorithm is the one the boxing plan recorded
 * ({@code CollectiveStep.algorithm()}), so the bytes sent are the ones the plan charged.
 */
public final class Collectives {
    private Collectives() {
    }

    /**
     * Member {@code member}'s schedule for {@code parts}'s conversion.
     *
     * @param chunkElements the most elements one message carries
     * @throws IllegalArgumentException when {@code algorithm} is RING for a conversion that has no ring form
     *     (all-to-all, slice, zero-fill, zero-pad), or the chunk size is below 1
     */
    public static CollectiveSchedule conversion(GroupParts parts, CollectiveAlgorithm algorithm, int member,
            int chunkElements) {
        boolean ring = algorithm == CollectiveAlgorithm.RING;
        return switch (parts.conversion()) {
            case ALL_REDUCE -> ring ? RingSchedules.allReduce(parts, member, chunkElements)
                    : DirectSchedules.allReduce(parts, member, chunkElements);
            case REDUCE_SCATTER -> ring ? RingSchedules.reduceScatter(parts, member, chunkElements)
                    : DirectSchedules.reduceScatter(parts, member, chunkElements);
            case ALL_GATHER -> ring ? RingSchedules.allGather(parts, member, chunkElements)
                    : DirectSchedules.exchange(parts, member, chunkElements);
            case ALL_TO_ALL, LOCAL_SLICE, ZERO_FILL, ZERO_PAD -> {
                if (ring) {
                    throw new IllegalArgumentException(parts.conversion() + " has no ring algorithm; use DIRECT "
                            + "(CollectiveAlgorithm.choose picks it)");
                }
                yield DirectSchedules.exchange(parts, member, chunkElements);
            }
            case SEND_RECV -> throw new IllegalArgumentException("send/recv is not a group conversion; use sendReceive");
        };
    }

    /** Broadcast of a tensor of {@code elements} from {@code root}; every member's output receives it. */
    public static CollectiveSchedule broadcast(CollectiveAlgorithm algorithm, long elements, int peers, int root,
            int member, int chunkElements) {
        return algorithm == CollectiveAlgorithm.RING ? RingSchedules.broadcast(elements, peers, root, member, chunkElements)
                : DirectSchedules.broadcast(elements, peers, root, member, chunkElements);
    }

    /** Reduce of a tensor of {@code elements} onto {@code root}; only the root's output is written. */
    public static CollectiveSchedule reduce(CollectiveAlgorithm algorithm, long elements, int peers, int root, int member,
            int chunkElements) {
        return algorithm == CollectiveAlgorithm.RING ? RingSchedules.reduce(elements, peers, root, member, chunkElements)
                : DirectSchedules.reduce(elements, peers, root, member, chunkElements);
    }

    /** Send/recv between the two members of a group: member {@code from}'s input becomes the other's output. */
    public static CollectiveSchedule sendReceive(long elements, int from, int member, int chunkElements) {
        return DirectSchedules.sendReceive(elements, from, member, chunkElements);
    }
}
