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
     * device}. The total equals what {@link #route}'s steps report; the busiest figure adds, per
     * step, the most any device of the largest group sends, so it equals the plan's busiest
     * device for a one-step plan and bounds it from above otherwise (parts of unequal size make
     * different devices the busiest in different steps). At a cost independent of the number
     * of devices (all-to-all aside), so a planner can score many layouts on a large hierarchy.
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
     * split it (balanced parts sum exactly), and a group's total is linear in its tensor for
     * every conversion but all-to-all (whose total depends on how its parts overlap), for which
     * the groups are enumerated.
     */
    private static double totalBytes(TensorType type, Placement placement, Move move) {
        int p = placement.axisSize(move.axis());
        Conversion conversion = Boxing.conversion(move.before().get(move.axis()), move.target());
        if (conversion == Conversion.ALL_TO_ALL) {
            return step(type, placement, move.before(), move.axis(), move.target()).totalBytes();
        }
        long copies = 1;
        for (int h = 0; h < placement.axes(); h++) {
            if (h != move.axis() && !(move.before().get(h) instanceof Sbp.Split)) {
                copies *= placement.axisSize(h);
            }
        }
        double tensorBytes = (double) type.shape().size() * type.dtype().bytes() * copies;
        return switch (conversion) {
            case ALL_REDUCE -> 2.0 * (p - 1) * tensorBytes;
            case REDUCE_SCATTER, ALL_GATHER -> (double) (p - 1) * tensorBytes;
            default -> 0;
        };
    }

    /**
     * The most bytes a device of the group holding rank 0 sends in one move: that group holds the
     * largest balanced parts on every other axis, so it bounds every group.
     */
    private static double rankZeroBytes(TensorType type, Placement placement, Move move) {
        GroupSizes group = groupOfRankZero(type, placement, move.before(), move.axis(), move.target());
        long most = 0;
        for (int i = 0; i < group.parts.peers(); i++) {
            most = Math.max(most, CollectiveBytes.sentBy(group.parts, group.algorithm, i, type.dtype().bytes()));
        }
        return most;
    }

    private record GroupSizes(GroupParts parts, CollectiveAlgorithm algorithm) {
    }

    private static GroupSizes groupOfRankZero(TensorType type, Placement placement, NdSbp state, int axis, Sbp target) {
        NdSbp groupLayout = state.with(axis, Sbp.broadcast());
        dev.tessera.graph.Shape shape = Sharding.region(type.shape(), placement, groupLayout, 0).shape();
        Conversion conversion = Boxing.conversion(state.get(axis), target);
        GroupParts parts = GroupParts.of(conversion, state.get(axis), target, shape, placement.axisSize(axis));
        return new GroupSizes(parts, CollectiveAlgorithm.choose(conversion, shape.size() * type.dtype().bytes()));
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

    /** The step converting {@code axis} of {@code state} to {@code target}, with its peer groups and chosen algorithm. */
    static CollectiveStep step(TensorType type, Placement placement, NdSbp state, int axis, Sbp target) {
        NdSbp groupLayout = state.with(axis, Sbp.broadcast());
        List<CollectiveStep.PeerGroup> groups = new ArrayList<>();
        for (int[] ranks : placement.peerGroups(axis)) {
            List<DeviceId> devices = new ArrayList<>(ranks.length);
            for (int r : ranks) {
                devices.add(placement.device(r));
            }
            TensorType groupType = new TensorType(Sharding.region(type.shape(), placement, groupLayout, ranks[0]).shape(),
                    type.dtype());
            groups.add(new CollectiveStep.PeerGroup(devices, groupType));
        }
        Conversion conversion = Boxing.conversion(state.get(axis), target);
        CollectiveAlgorithm algorithm = groupOfRankZero(type, placement, state, axis, target).algorithm();
        return new CollectiveStep(conversion, placement, axis, state, state.with(axis, target), groups, algorithm);
    }
}
