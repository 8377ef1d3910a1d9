package dev.tessera.worker.collective;

import static dev.tessera.worker.collective.CollectiveSchedule.INPUT;
import static dev.tessera.worker.collective.CollectiveSchedule.OUTPUT;

import dev.tessera.sbp.Region;
import dev.tessera.sbp.boxing.GroupParts;
import dev.tessera.worker.collective.CollectiveSchedule.Local;
import java.util.function.IntFunction;

/**
 * Direct algorithms: each member sends every peer what that peer needs in one round (chunked
 * into several messages), and sums, once everything arrived, in {@link GroupParts#summand}
 * order. For tiny tensors, where a ring's p-1 rounds of latency dominate; all-to-all and the
 * local conversions (slice, zero-fill, zero-pad) only exist in this form.
 */
final class DirectSchedules {
    private DirectSchedules() {
    }

    /**
     * Any conversion that moves values without summing: member i takes, for each member j it
     * {@link GroupParts#takesFrom}, the overlap of j's part before with its own part after.
     */
    static CollectiveSchedule exchange(GroupParts parts, int i, int chunkElements) {
        ScheduleBuilder b = new ScheduleBuilder(chunkElements);
        Region mine = parts.after(i);
        Region held = parts.before(i);
        long covered = 0;
        for (int j = 0; j < parts.peers(); j++) {
            if (parts.takesFrom(i, j)) {
                covered += parts.before(j).intersect(mine).elements();
            }
        }
        if (covered < mine.elements()) {
            b.then(Local.zero(OUTPUT, ElementRuns.range(0, mine.elements())));
            b.endRound();
        }
        for (int j = 0; j < parts.peers(); j++) {
            if (j == i) {
                continue;
            }
            if (parts.takesFrom(j, i)) {
                b.send(j, 0, INPUT, ElementRuns.of(held.intersect(parts.after(j)), held));
            }
            if (parts.takesFrom(i, j)) {
                b.receive(j, 0, OUTPUT, ElementRuns.of(parts.before(j).intersect(mine), mine));
            }
        }
        if (parts.takesFrom(i, i)) {
            Region own = held.intersect(mine);
            b.then(Local.copy(INPUT, ElementRuns.of(own, held), OUTPUT, ElementRuns.of(own, mine)));
        }
        return b.build(RingSchedules.describe("direct " + parts.conversion(), parts, i));
    }

    /** Reduce-scatter: member i sends part k of its value to member k and sums the p values of part i. */
    static CollectiveSchedule reduceScatter(GroupParts parts, int i, int chunkElements) {
        ScheduleBuilder b = new ScheduleBuilder(chunkElements);
        Region whole = Region.whole(parts.shape());
        reduceRound(b, parts, i, 0, INPUT, k -> ElementRuns.of(parts.after(k), whole), OUTPUT,
                ElementRuns.range(0, parts.after(i).elements()));
        return b.build(RingSchedules.describe("direct reduce-scatter", parts, i));
    }

    /** All-reduce: a direct reduce-scatter of the row-major parts, then each member sends its summed part to all. */
    static CollectiveSchedule allReduce(GroupParts parts, int i, int chunkElements) {
        ScheduleBuilder b = new ScheduleBuilder(chunkElements);
        IntFunction<ElementRuns> flat = k -> ElementRuns.range(parts.flatPartStart(k), parts.flatPartLength(k));
        reduceRound(b, parts, i, 0, INPUT, flat, OUTPUT, flat.apply(i));
        b.endRound();
        for (int j = 0; j < parts.peers(); j++) {
            if (j != i) {
                b.send(j, 1, OUTPUT, flat.apply(i));
                b.receive(j, 1, OUTPUT, flat.apply(j));
            }
        }
        return b.build(RingSchedules.describe("direct all-reduce", parts, i));
    }

    /**
     * One round: send part k of {@code source} to each member k, receive each peer's part i into
     * its own scratch buffer, then fold the p values of part i into {@code target}'s piece.
     */
    private static void reduceRound(ScheduleBuilder b, GroupParts parts, int i, int step, int source,
            IntFunction<ElementRuns> part, int target, ElementRuns targetRuns) {
        int p = parts.peers();
        int[] received = new int[p];
        int n = part.apply(i).elements();
        for (int j = 0; j < p; j++) {
            if (j != i) {
                b.send(j, step, source, part.apply(j));
                received[j] = b.scratch(n);
                b.receive(j, step, received[j], ElementRuns.range(0, n));
            }
        }
        for (int position = 0; position < p; position++) {
            int m = parts.summand(i, position);
            int from = m == i ? source : received[m];
            ElementRuns runs = m == i ? part.apply(i) : ElementRuns.range(0, n);
            b.then(position == 0 ? Local.copy(from, runs, target, targetRuns) : Local.add(from, runs, target, targetRuns));
        }
    }

    /** Broadcast: the root sends the tensor to every peer. */
    static CollectiveSchedule broadcast(long elements, int peers, int root, int member, int chunkElements) {
        ScheduleBuilder b = new ScheduleBuilder(chunkElements);
        ElementRuns all = ElementRuns.range(0, elements);
        if (member == root) {
            for (int j = 0; j < peers; j++) {
                if (j != root) {
                    b.send(j, 0, INPUT, all);
                }
            }
            b.then(Local.copy(INPUT, all, OUTPUT, all));
        } else {
            b.receive(root, 0, OUTPUT, all);
        }
        return b.build("direct broadcast of " + elements + " elements from member " + root + ", member " + member
                + " of " + peers);
    }

    /** Reduce: every peer sends its value to the root, which sums in {@link GroupParts#summand} order. */
    static CollectiveSchedule reduce(long elements, int peers, int root, int member, int chunkElements) {
        ScheduleBuilder b = new ScheduleBuilder(chunkElements);
        ElementRuns all = ElementRuns.range(0, elements);
        if (member != root) {
            b.send(root, 0, INPUT, all);
            return b.build("direct reduce of " + elements + " elements onto member " + root + ", member " + member);
        }
        int[] received = new int[peers];
        for (int j = 0; j < peers; j++) {
            if (j != root) {
                received[j] = b.scratch(Math.toIntExact(elements));
                b.receive(j, 0, received[j], all);
            }
        }
        for (int position = 0; position < peers; position++) {
            int m = GroupParts.summand(peers, root, position);
            int from = m == root ? INPUT : received[m];
            b.then(position == 0 ? Local.copy(from, all, OUTPUT, all) : Local.add(from, all, OUTPUT, all));
        }
        return b.build("direct reduce of " + elements + " elements onto member " + root + ", member " + member + " of "
                + peers);
    }

    /** Send/recv between two members: member {@code from} sends its input, the other receives it as output. */
    static CollectiveSchedule sendReceive(long elements, int from, int member, int chunkElements) {
        ScheduleBuilder b = new ScheduleBuilder(chunkElements);
        ElementRuns all = ElementRuns.range(0, elements);
        if (member == from) {
            b.send(1 - from, 0, INPUT, all);
        } else {
            b.receive(from, 0, OUTPUT, all);
        }
        return b.build("send/recv of " + elements + " elements from member " + from + ", member " + member);
    }
}
