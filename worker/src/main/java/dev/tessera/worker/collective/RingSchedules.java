package dev.tessera.worker.collective;

import static dev.tessera.worker.collective.CollectiveSchedule.INPUT;
import static dev.tessera.worker.collective.CollectiveSchedule.OUTPUT;

import dev.tessera.sbp.Region;
import dev.tessera.sbp.boxing.GroupParts;
import dev.tessera.worker.collective.CollectiveSchedule.Local;
import java.util.function.IntFunction;

/**
 * Ring algorithms: member i sends only to member i+1 and receives only from member i-1 (mod p).
 * Each step moves one part per member, cut into chunks of the builder's size, one chunk per
 * round; a member keeps several rounds in flight, so a chunk is forwarded while the next ones
 * arrive and an earlier one is added. Parts follow {@link GroupParts}; a
 * reduction part k starts at member k+1 and ends, fully summed, at member k, which is the order
 * {@link GroupParts#summand} defines.
 */
final class RingSchedules {
    /**
     * Chunk-sized staging buffers a reduction step receives into in turn when a chunk's pieces are
     * not contiguous (a reduce-scatter split along an inner axis), so that a member may receive
     * the next chunks while it adds an earlier one (one buffer would make every receive wait for
     * the previous sum). Contiguous chunks need none: the transport sums them as they arrive.
     */
    static final int STAGING_SLOTS = 4;

    private RingSchedules() {
    }

    /** Reduce-scatter: the input is a whole partial value, the output part {@code after(member)}. */
    static CollectiveSchedule reduceScatter(GroupParts parts, int member, int chunkElements) {
        ScheduleBuilder b = new ScheduleBuilder(chunkElements);
        Region whole = Region.whole(parts.shape());
        ElementRuns own = ElementRuns.range(0, parts.after(member).elements());
        if (parts.peers() == 1) {
            b.then(Local.copy(INPUT, ElementRuns.of(parts.after(member), whole), OUTPUT, own));
            return b.build(describe("ring reduce-scatter", parts, member));
        }
        int work = b.scratch(Math.toIntExact(parts.elements()));
        reduceSteps(b, parts.peers(), member, 0, work, k -> ElementRuns.of(parts.after(k), whole), OUTPUT, own);
        return b.build(describe("ring reduce-scatter", parts, member));
    }

    /**
     * Reduce-scatter of {@code elements} whose reduction part k is the range {@code part(k)} (the
     * parts in order, covering every element once), into an output that holds part
     * {@code member} alone. Part k is summed in the order {@link GroupParts#summand} gives part k.
     */
    static CollectiveSchedule reduceScatter(int peers, long elements, IntFunction<ElementRuns> part, int member,
            int chunkElements, String description) {
        ScheduleBuilder b = new ScheduleBuilder(chunkElements);
        ElementRuns own = ElementRuns.range(0, part.apply(member).elements());
        if (peers == 1) {
            b.then(Local.copy(INPUT, part.apply(member), OUTPUT, own));
            return b.build(description);
        }
        int work = b.scratch(Math.toIntExact(elements));
        reduceSteps(b, peers, member, 0, work, part, OUTPUT, own);
        return b.build(description);
    }

    /** All-gather: the input is part {@code before(member)}, the output the whole group tensor. */
    static CollectiveSchedule allGather(GroupParts parts, int member, int chunkElements) {
        ScheduleBuilder b = new ScheduleBuilder(chunkElements);
        Region whole = Region.whole(parts.shape());
        b.then(Local.copy(INPUT, ElementRuns.range(0, parts.before(member).elements()), OUTPUT,
                ElementRuns.of(parts.before(member), whole)));
        b.endRound();
        gatherSteps(b, parts.peers(), member, 0, k -> ElementRuns.of(parts.before(k), whole));
        return b.build(describe("ring all-gather", parts, member));
    }

    /** All-reduce: a ring reduce-scatter of the row-major parts into the output, then a ring all-gather of them. */
    static CollectiveSchedule allReduce(GroupParts parts, int member, int chunkElements) {
        return allReduce(parts.peers(), parts.elements(),
                k -> ElementRuns.range(parts.flatPartStart(k), parts.flatPartLength(k)), member, chunkElements,
                describe("ring all-reduce", parts, member));
    }

    /**
     * All-reduce of {@code elements} whose reduction part k is the range {@code part(k)} (the
     * parts in order, covering every element once): a ring reduce-scatter of them, then a ring
     * all-gather. Part k is summed in the order {@link GroupParts#summand} gives part k.
     */
    static CollectiveSchedule allReduce(int peers, long elements, IntFunction<ElementRuns> part, int member,
            int chunkElements, String description) {
        ScheduleBuilder b = new ScheduleBuilder(chunkElements);
        ElementRuns all = ElementRuns.range(0, elements);
        if (peers == 1) {
            b.then(Local.copy(INPUT, all, OUTPUT, all));
            return b.build(description);
        }
        reduceSteps(b, peers, member, 0, OUTPUT, part, OUTPUT, part.apply(member));
        gatherSteps(b, peers, member, peers - 1, part);
        return b.build(description);
    }

    /**
     * p-1 steps; at step s member i sends its running sum of part i-s-1 (at step 0 its own value,
     * read from the input) and writes its own value of part i-s-2 plus what it receives of that
     * part into {@code work}, or, at the last step (part i, complete), into {@code ownTarget}'s
     * piece {@code ownRuns}. Each part is summed once per member, so nothing is copied first. A
     * chunk whose pieces are contiguous is summed by the transport as it arrives
     * ({@link ScheduleBuilder#receiveSumChunk}: input + received, the operands of the staged sum),
     * so the received bytes are not written to a staging buffer and read back; other chunks are
     * received into staging slots and summed when their round finishes.
     */
    private static void reduceSteps(ScheduleBuilder b, int p, int i, int firstStep, int work,
            IntFunction<ElementRuns> part, int ownTarget, ElementRuns ownRuns) {
        int largest = 0;
        for (int k = 0; k < p; k++) {
            largest = Math.max(largest, part.apply(k).elements());
        }
        int[] staging = null;
        ElementRuns[] own = ownRuns.chunks(b.chunkElements());
        int staged = 0;
        for (int s = 0; s < p - 1; s++) {
            ElementRuns[] out = part.apply(Math.floorMod(i - s - 1, p)).chunks(b.chunkElements());
            ElementRuns[] in = part.apply(Math.floorMod(i - s - 2, p)).chunks(b.chunkElements());
            boolean last = s == p - 2;
            for (int c = 0; c < Math.max(out.length, in.length); c++) {
                if (c < out.length) {
                    b.sendChunk((i + 1) % p, firstStep + s, c, s == 0 ? INPUT : work, out[c]);
                }
                if (c < in.length) {
                    int target = last ? ownTarget : work;
                    ElementRuns targetRuns = last ? own[c] : in[c];
                    int from = Math.floorMod(i - 1, p);
                    if (in[c].contiguous() && targetRuns.contiguous()) {
                        b.receiveSumChunk(from, firstStep + s, c, INPUT, in[c], target, targetRuns);
                    } else {
                        if (staging == null) {
                            staging = stagingSlots(b, largest, p);
                        }
                        ElementRuns packed = ElementRuns.range(0, in[c].elements());
                        int slot = staging[staged++ % staging.length];
                        b.receiveChunk(from, firstStep + s, c, slot, packed);
                        b.then(Local.sum(INPUT, in[c], slot, packed, target, targetRuns));
                    }
                }
                b.endRound();
            }
        }
    }

    /** Up to {@link #STAGING_SLOTS} chunk-sized slots, no more than the chunks the p-1 steps receive. */
    private static int[] stagingSlots(ScheduleBuilder b, int largestPart, int p) {
        int chunksPerStep = (largestPart + b.chunkElements() - 1) / b.chunkElements();
        int[] slots = new int[Math.max(1, Math.min(STAGING_SLOTS, chunksPerStep * (p - 1)))];
        for (int k = 0; k < slots.length; k++) {
            slots[k] = b.scratch(Math.min(largestPart, b.chunkElements()));
        }
        return slots;
    }

    /** p-1 steps; at step s member i sends part i-s of the output and receives part i-s-1 into it. */
    private static void gatherSteps(ScheduleBuilder b, int p, int i, int firstStep,
            IntFunction<ElementRuns> part) {
        for (int s = 0; s < p - 1; s++) {
            ElementRuns[] out = part.apply(Math.floorMod(i - s, p)).chunks(b.chunkElements());
            ElementRuns[] in = part.apply(Math.floorMod(i - s - 1, p)).chunks(b.chunkElements());
            for (int c = 0; c < Math.max(out.length, in.length); c++) {
                if (c < out.length) {
                    b.sendChunk((i + 1) % p, firstStep + s, c, OUTPUT, out[c]);
                }
                if (c < in.length) {
                    b.receiveChunk(Math.floorMod(i - 1, p), firstStep + s, c, OUTPUT, in[c]);
                }
                b.endRound();
            }
        }
    }

    /**
     * Broadcast along the chain root, root+1, ..., root-1: in round r a member receives chunk r
     * and forwards chunk r-1 (the root sends chunk r), so chunks stream down the chain.
     */
    static CollectiveSchedule broadcast(long elements, int peers, int root, int member, int chunkElements) {
        ScheduleBuilder b = new ScheduleBuilder(chunkElements);
        ElementRuns[] chunks = ElementRuns.range(0, elements).chunks(chunkElements);
        int position = Math.floorMod(member - root, peers);
        int next = (member + 1) % peers;
        int previous = Math.floorMod(member - 1, peers);
        if (position == 0) {
            b.then(Local.copy(INPUT, ElementRuns.range(0, elements), OUTPUT, ElementRuns.range(0, elements)));
            b.endRound();
        }
        boolean last = position == peers - 1;
        for (int r = 0; r <= chunks.length; r++) {
            int forwarded = position == 0 ? r : r - 1;
            if (!last && peers > 1 && forwarded >= 0 && forwarded < chunks.length) {
                b.sendChunk(next, 0, forwarded, OUTPUT, chunks[forwarded]);
            }
            if (position > 0 && r < chunks.length) {
                b.receiveChunk(previous, 0, r, OUTPUT, chunks[r]);
            }
            b.endRound();
        }
        return b.build("chain broadcast of " + elements + " elements from member " + root + ", member " + member
                + " of " + peers);
    }

    /**
     * Reduce onto {@code root} along the chain root+1, ..., root: each member adds its value to
     * the running sum it receives, chunk by chunk, and forwards it; the root's output is the sum
     * in {@link GroupParts#summand} order.
     */
    static CollectiveSchedule reduce(long elements, int peers, int root, int member, int chunkElements) {
        ScheduleBuilder b = new ScheduleBuilder(chunkElements);
        ElementRuns[] chunks = ElementRuns.range(0, elements).chunks(chunkElements);
        int position = Math.floorMod(member - root - 1, peers);
        boolean isRoot = member == root;
        int sum = isRoot ? OUTPUT : b.scratch(Math.toIntExact(elements));
        if (position == 0) {
            b.then(Local.copy(INPUT, ElementRuns.range(0, elements), sum, ElementRuns.range(0, elements)));
            b.endRound();
        }
        for (int r = 0; r <= chunks.length; r++) {
            int forwarded = position == 0 ? r : r - 1;
            if (!isRoot && forwarded >= 0 && forwarded < chunks.length) {
                b.sendChunk((member + 1) % peers, 0, forwarded, sum, chunks[forwarded]);
            }
            if (position > 0 && r < chunks.length) {
                b.receiveChunk(Math.floorMod(member - 1, peers), 0, r, sum, chunks[r]);
                b.then(Local.add(INPUT, chunks[r], sum, chunks[r]));
            }
            b.endRound();
        }
        return b.build("chain reduce of " + elements + " elements onto member " + root + ", member " + member + " of "
                + peers);
    }

    static String describe(String what, GroupParts parts, int member) {
        return what + " of " + parts.shape() + ", member " + member + " of " + parts.peers();
    }
}
