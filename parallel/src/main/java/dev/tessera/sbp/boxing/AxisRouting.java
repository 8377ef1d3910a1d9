package dev.tessera.sbp.boxing;

import dev.tessera.graph.TensorType;
import dev.tessera.sbp.DeviceId;
import dev.tessera.sbp.NdSbp;
import dev.tessera.sbp.Placement;
import dev.tessera.sbp.Sbp;
import dev.tessera.sbp.Sharding;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;

/**
 * Finds the cheapest sequence of one-axis conversions between two NdSbps on one placement.
 *
 * <p>Converting hierarchy axis k with a plain collective over its peer groups is only right when
 * no later axis splits a tensor axis that this conversion splits or gathers: regions are cut axis
 * by axis, so a later split of the same tensor axis would cut each part again and the group
 * would not hold one contiguous tensor. Converting (S(0), S(0)) to (B, B) therefore gathers
 * axis 1 first; (S(0), S(1)) to (S(1), S(0)) passes through B. The search runs over states whose
 * axes each hold the source SBP, the target SBP or B (at most 3^axes states), and minimizes total
 * bytes, then the number of steps. Axes of size 1 need no step: every SBP holds the same data.
 */
final class AxisRouting {
    private AxisRouting() {
    }

    /** Converting hierarchy axis {@code axis} of {@code before} to {@code target}. */
    record Move(NdSbp before, int axis, Sbp target) {
        NdSbp after() {
            return before.with(axis, target);
        }
    }

    private record Visit(NdSbp state, double bytes, int steps) {
    }

    /** The steps, with their peer groups, that convert {@code from} to {@code to}. */
    static List<CollectiveStep> route(String tensor, TensorType type, Placement placement, NdSbp from, NdSbp to) {
        List<CollectiveStep> steps = new ArrayList<>();
        for (Move move : moves(tensor, type, placement, from, to)) {
            steps.add(step(type, placement, move.before(), move.axis(), move.target()));
        }
        return steps;
    }

    /**
     * The bytes of the cheapest conversion without building its peer groups: {total, busiest
     * device}. Equal to what {@link #route}'s steps report, at a cost independent of the number
     * of devices, so a planner can score many layouts on a large hierarchy.
     */
    static double[] bytes(String tensor, TensorType type, Placement placement, NdSbp from, NdSbp to) {
        double total = 0;
        double busiest = 0;
        for (Move move : moves(tensor, type, placement, from, to)) {
            total += totalBytes(type, placement, move);
            busiest += rankZeroBytes(type, placement, move);
        }
        return new double[] {total, busiest};
    }

    static List<Move> moves(String tensor, TensorType type, Placement placement, NdSbp from, NdSbp to) {
        NdSbp start = from;
        for (int axis = 0; axis < placement.axes(); axis++) {
            if (placement.axisSize(axis) == 1) {
                start = start.with(axis, to.get(axis));
            }
        }
        if (start.equals(to)) {
            return List.of();
        }
        Map<NdSbp, Visit> best = new HashMap<>();
        Map<NdSbp, Move> reachedBy = new HashMap<>();
        PriorityQueue<Visit> queue = new PriorityQueue<>((a, b) -> a.bytes != b.bytes
                ? Double.compare(a.bytes, b.bytes) : Integer.compare(a.steps, b.steps));
        Visit first = new Visit(start, 0, 0);
        best.put(start, first);
        queue.add(first);
        while (!queue.isEmpty()) {
            Visit v = queue.poll();
            if (best.get(v.state) != v) {
                continue;
            }
            if (v.state.equals(to)) {
                break;
            }
            for (int axis = 0; axis < placement.axes(); axis++) {
                if (placement.axisSize(axis) == 1) {
                    continue;
                }
                for (Sbp target : candidates(from.get(axis), to.get(axis))) {
                    if (target.equals(v.state.get(axis)) || !independentOfLaterAxes(placement, v.state, axis, target)) {
                        continue;
                    }
                    Move move = new Move(v.state, axis, target);
                    Visit next = new Visit(move.after(), v.bytes + totalBytes(type, placement, move), v.steps + 1);
                    Visit known = best.get(next.state);
                    if (known == null || next.bytes < known.bytes || (next.bytes == known.bytes && next.steps < known.steps)) {
                        best.put(next.state, next);
                        reachedBy.put(next.state, move);
                        queue.add(next);
                    }
                }
            }
        }
        if (!best.containsKey(to)) {
            throw new IllegalArgumentException("no supported sequence of collectives converts tensor '" + tensor + "' " + type
                    + " from " + from + " to " + to + " on " + placement
                    + "; choose a consumer layout that differs from the producer's in fewer hierarchy axes");
        }
        List<Move> moves = new ArrayList<>();
        for (NdSbp s = to; !s.equals(start); s = reachedBy.get(s).before()) {
            moves.add(reachedBy.get(s));
        }
        Collections.reverse(moves);
        return moves;
    }

    /**
     * All devices' bytes for one move, without enumerating groups: the group tensors of a
     * hierarchy axis together hold the tensor once per device of every other axis that does not
     * split it (balanced parts sum exactly), and the ring formulas are linear in |T|.
     */
    private static double totalBytes(TensorType type, Placement placement, Move move) {
        long copies = 1;
        for (int h = 0; h < placement.axes(); h++) {
            if (h != move.axis() && !(move.before().get(h) instanceof Sbp.Split)) {
                copies *= placement.axisSize(h);
            }
        }
        int p = placement.axisSize(move.axis());
        Conversion conversion = Boxing.conversion(move.before().get(move.axis()), move.target());
        return conversion.bytesPerDevice(p, type.shape().size() * type.dtype().bytes() * copies) * p;
    }

    /** Bytes the device at rank 0 sends in one move; it holds the largest balanced part everywhere, so it is the busiest. */
    private static double rankZeroBytes(TensorType type, Placement placement, Move move) {
        NdSbp groupLayout = move.before().with(move.axis(), Sbp.broadcast());
        long bytes = Sharding.region(type.shape(), placement, groupLayout, 0).elements() * type.dtype().bytes();
        return Boxing.conversion(move.before().get(move.axis()), move.target())
                .bytesPerDevice(placement.axisSize(move.axis()), bytes);
    }

    private static Set<Sbp> candidates(Sbp from, Sbp to) {
        Set<Sbp> set = new LinkedHashSet<>();
        set.add(to);
        set.add(from);
        set.add(Sbp.broadcast());
        return set;
    }

    /** Whether converting {@code axis} to {@code target} in {@code state} touches no tensor axis a later hierarchy axis splits. */
    static boolean independentOfLaterAxes(Placement placement, NdSbp state, int axis, Sbp target) {
        for (int later = axis + 1; later < placement.axes(); later++) {
            if (placement.axisSize(later) > 1 && state.get(later) instanceof Sbp.Split split
                    && (sameTensorAxis(split, state.get(axis)) || sameTensorAxis(split, target))) {
                return false;
            }
        }
        return true;
    }

    private static boolean sameTensorAxis(Sbp.Split split, Sbp other) {
        return other instanceof Sbp.Split s && s.axis() == split.axis();
    }

    /** The step converting {@code axis} of {@code state} to {@code target}, with the bytes of each peer group. */
    static CollectiveStep step(TensorType type, Placement placement, NdSbp state, int axis, Sbp target) {
        NdSbp groupLayout = state.with(axis, Sbp.broadcast());
        List<CollectiveStep.PeerGroup> groups = new ArrayList<>();
        for (int[] ranks : placement.peerGroups(axis)) {
            List<DeviceId> devices = new ArrayList<>(ranks.length);
            for (int r : ranks) {
                devices.add(placement.device(r));
            }
            long bytes = Sharding.region(type.shape(), placement, groupLayout, ranks[0]).elements() * type.dtype().bytes();
            groups.add(new CollectiveStep.PeerGroup(devices, bytes));
        }
        Conversion conversion = Boxing.conversion(state.get(axis), target);
        return new CollectiveStep(conversion, placement, axis, state, state.with(axis, target), groups);
    }
}
