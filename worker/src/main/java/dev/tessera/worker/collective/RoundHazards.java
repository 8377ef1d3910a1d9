package dev.tessera.worker.collective;

import dev.tessera.worker.collective.CollectiveSchedule.Local;
import dev.tessera.worker.collective.CollectiveSchedule.Message;
import dev.tessera.worker.collective.CollectiveSchedule.Operation;
import dev.tessera.worker.collective.CollectiveSchedule.Round;
import java.util.List;

/**
 * Which earlier round each round of a schedule must wait for before its messages go out. A
 * round's sends read pieces of buffers and its receives write them (while the messages arrive; a
 * receive that sums also reads its base piece then); its local steps read and write pieces when
 * it finishes. Round r's messages may be posted while
 * an earlier round q is unfinished only when they touch nothing q still changes or reads: r's
 * sends and the bases of its summing receives read nothing q writes, r's receives write nothing q
 * reads or writes. Pieces are compared
 * by the span of their runs (first to last element), which can only find more conflicts than
 * there are, never fewer.
 */
final class RoundHazards {
    private RoundHazards() {
    }

    /**
     * For each round r, the latest earlier round it conflicts with, -1 if none. Rounds further back
     * than {@code window} are not looked at: a member with that window has finished them before it
     * posts r.
     */
    static int[] postAfter(List<Round> rounds, int window) {
        int[] after = new int[rounds.size()];
        for (int r = 0; r < rounds.size(); r++) {
            after[r] = -1;
            Round round = rounds.get(r);
            if (round.sends().isEmpty() && round.receives().isEmpty()) {
                // a purely local round: its steps run when it finishes, after every earlier round
                continue;
            }
            for (int q = r - 1; q > r - window && q >= 0; q--) {
                if (conflict(rounds.get(q), round)) {
                    after[r] = q;
                    break;
                }
            }
        }
        return after;
    }

    /** Whether {@code later}'s messages touch what {@code earlier} may still read or write. */
    private static boolean conflict(Round earlier, Round later) {
        for (Message send : later.sends()) {
            if (writes(earlier, send.buffer(), send.runs())) {
                return true;
            }
        }
        for (Message receive : later.receives()) {
            if (writes(earlier, receive.buffer(), receive.runs()) || reads(earlier, receive.buffer(), receive.runs())) {
                return true;
            }
            if (receive.sums() && writes(earlier, receive.base(), receive.baseRuns())) {
                return true;
            }
        }
        return false;
    }

    private static boolean writes(Round round, int buffer, ElementRuns runs) {
        for (Message receive : round.receives()) {
            if (overlap(receive.buffer(), receive.runs(), buffer, runs)) {
                return true;
            }
        }
        for (Local local : round.then()) {
            if (overlap(local.target(), local.targetRuns(), buffer, runs)) {
                return true;
            }
        }
        return false;
    }

    private static boolean reads(Round round, int buffer, ElementRuns runs) {
        for (Message send : round.sends()) {
            if (overlap(send.buffer(), send.runs(), buffer, runs)) {
                return true;
            }
        }
        for (Message receive : round.receives()) {
            if (receive.sums() && overlap(receive.base(), receive.baseRuns(), buffer, runs)) {
                return true;
            }
        }
        for (Local local : round.then()) {
            if (local.operation() != Operation.ZERO && overlap(local.source(), local.sourceRuns(), buffer, runs)) {
                return true;
            }
            if (local.operation() == Operation.SUM && overlap(local.base(), local.baseRuns(), buffer, runs)) {
                return true;
            }
        }
        return false;
    }

    private static boolean overlap(int bufferA, ElementRuns a, int bufferB, ElementRuns b) {
        if (bufferA != bufferB || a.elements() == 0 || b.elements() == 0) {
            return false;
        }
        return low(a) < high(b) && low(b) < high(a);
    }

    private static int low(ElementRuns runs) {
        int low = Integer.MAX_VALUE;
        for (int r = 0; r < runs.runs(); r++) {
            if (runs.length(r) > 0) {
                low = Math.min(low, runs.start(r));
            }
        }
        return low;
    }

    private static int high(ElementRuns runs) {
        int high = Integer.MIN_VALUE;
        for (int r = 0; r < runs.runs(); r++) {
            if (runs.length(r) > 0) {
                high = Math.max(high, runs.start(r) + runs.length(r));
            }
        }
        return high;
    }
}
