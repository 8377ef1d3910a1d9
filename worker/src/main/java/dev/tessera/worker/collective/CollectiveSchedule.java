package dev.tessera.worker.collective;

import java.util.List;

/**
 * One member's part of a collective as data: rounds of messages, each followed by local copies
 * and sums. Built once per (collective, member) by {@link RingSchedules} or
 * {@link DirectSchedules}, run any number of times by a {@link CollectiveMember}; it can be
 * printed and its bytes counted before it runs.
 *
 * <p>Buffers are numbered: {@link #INPUT} (the member's part before, read only), {@link #OUTPUT}
 * (its part after), then scratch buffers of {@link #scratchElements} elements each.
 *
 * @param description what runs, for errors, e.g. {@code "ring all-reduce of F32 [5, 3], member 1 of 3"}
 */
public record CollectiveSchedule(String description, List<Round> rounds, List<Integer> scratchElements) {
    public static final int INPUT = 0;
    public static final int OUTPUT = 1;
    /** The first scratch buffer. */
    public static final int SCRATCH = 2;

    public CollectiveSchedule {
        rounds = List.copyOf(rounds);
        scratchElements = List.copyOf(scratchElements);
    }

    /**
     * Messages posted together; when all completed, {@code then} runs in order.
     * A round without messages is purely local.
     */
    public record Round(List<Message> sends, List<Message> receives, List<Local> then) {
        public Round {
            sends = List.copyOf(sends);
            receives = List.copyOf(receives);
            then = List.copyOf(then);
        }
    }

    /**
     * One message to or from {@code peer}: the piece {@code runs} of {@code buffer}, named
     * {@code tag} in the group. A receive with a {@code base} (not -1) sums: it writes into its
     * piece the piece {@code baseRuns} of {@code base} plus the message, as the transport receives it
     * ({@link dev.tessera.runtime.transport.Transport#receiveSum}), the bits of a receive into a
     * buffer of its own followed by {@link Local#sum}. Both pieces are contiguous.
     */
    public record Message(int peer, long tag, int buffer, ElementRuns runs, int base, ElementRuns baseRuns) {
        public Message {
            if (base >= 0 && (!runs.contiguous() || !baseRuns.contiguous() || runs.elements() != baseRuns.elements())) {
                throw new IllegalArgumentException("a receive that sums needs contiguous pieces of one size, got "
                        + runs + " and base " + baseRuns);
            }
        }

        /** A message that moves a piece as it is. */
        public Message(int peer, long tag, int buffer, ElementRuns runs) {
            this(peer, tag, buffer, runs, -1, null);
        }

        /** Whether this receive sums its base and the message into its piece. */
        public boolean sums() {
            return base >= 0;
        }
    }

    /**
     * A local step: copy or add piece {@code sourceRuns} of buffer {@code source} into
     * {@code target}'s piece, zero it, or write into it the sum of piece {@code baseRuns} of
     * {@code base} and the source piece.
     */
    public record Local(Operation operation, int source, ElementRuns sourceRuns, int target, ElementRuns targetRuns,
            int base, ElementRuns baseRuns) {
        public static Local copy(int source, ElementRuns sourceRuns, int target, ElementRuns targetRuns) {
            return new Local(Operation.COPY, source, sourceRuns, target, targetRuns, -1, null);
        }

        public static Local add(int source, ElementRuns sourceRuns, int target, ElementRuns targetRuns) {
            return new Local(Operation.ADD, source, sourceRuns, target, targetRuns, -1, null);
        }

        public static Local zero(int target, ElementRuns targetRuns) {
            return new Local(Operation.ZERO, -1, null, target, targetRuns, -1, null);
        }

        /**
         * {@code target = base + source}, element by element: the bits of copying base into target
         * and then adding source, without the copy.
         */
        public static Local sum(int base, ElementRuns baseRuns, int source, ElementRuns sourceRuns, int target,
                ElementRuns targetRuns) {
            return new Local(Operation.SUM, source, sourceRuns, target, targetRuns, base, baseRuns);
        }
    }

    public enum Operation {
        COPY, ADD, ZERO, SUM
    }

    /** Tag of chunk {@code chunk} of step {@code step}: both sides of a message compute the same one. */
    static long tag(int step, int chunk) {
        if (step >= 1 << 16 || chunk >= 1 << 24) {
            throw new IllegalArgumentException("a collective of " + step + " steps and " + chunk
                    + " chunks per message exceeds the tag space; use a larger chunk size");
        }
        return ((long) step << 24) | chunk;
    }

    /** Bytes this member sends in one run, for elements of {@code elementBytes}. */
    public long bytesSent(int elementBytes) {
        long elements = 0;
        for (Round r : rounds) {
            for (Message m : r.sends) {
                elements += m.runs().elements();
            }
        }
        return elements * elementBytes;
    }
}
