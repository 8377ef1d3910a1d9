package dev.tessera.sbp.boxing;

import dev.tessera.graph.Shape;
import dev.tessera.sbp.DeviceId;
import dev.tessera.sbp.Region;
import dev.tessera.sbp.Sbp;
import dev.tessera.sbp.Sharding;
import dev.tessera.tensor.HostTensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs a {@link BoxingPlan} on host shards with the semantics each step has at run time, as
 * {@link GroupParts} defines them: within each peer group, a reduction sums the members' values
 * in each reduction part's fixed order, a gather concatenates the members' balanced parts, a
 * scatter or slice keeps the member's balanced part.
 * The reference for the runtime's collectives, and how boxing itself is tested.
 */
public final class HostBoxing {
    private HostBoxing() {
    }

    /**
     * The shards after every step of {@code plan}. {@code shards} holds one tensor per device of
     * the plan's source placement; the result one per device of its target placement. Inputs are
     * not modified.
     */
    public static Map<DeviceId, HostTensor> apply(BoxingPlan plan, Map<DeviceId, HostTensor> shards) {
        Map<DeviceId, HostTensor> current = new LinkedHashMap<>(shards);
        for (BoxingStep step : plan.steps()) {
            current = step instanceof CollectiveStep c ? collective(c, current) : sendRecv(plan, (SendRecvStep) step, current);
        }
        return current;
    }

    private static Map<DeviceId, HostTensor> collective(CollectiveStep step, Map<DeviceId, HostTensor> shards) {
        Map<DeviceId, HostTensor> out = new LinkedHashMap<>(shards);
        Sbp from = step.before().get(step.hierarchyAxis());
        Sbp to = step.after().get(step.hierarchyAxis());
        for (CollectiveStep.PeerGroup group : step.groups()) {
            List<DeviceId> devices = group.devices();
            List<HostTensor> members = new ArrayList<>(devices.size());
            for (DeviceId d : devices) {
                members.add(shards.get(d));
            }
            List<HostTensor> results = run(step.conversion(), from, to, members);
            for (int i = 0; i < devices.size(); i++) {
                out.put(devices.get(i), results.get(i));
            }
        }
        return out;
    }

    /**
     * One conversion over one peer group, member {@code i} being at coordinate {@code i}, with the
     * semantics {@link GroupParts} defines (the runtime's collectives share it).
     */
    static List<HostTensor> run(Conversion conversion, Sbp from, Sbp to, List<HostTensor> members) {
        if (conversion == Conversion.SEND_RECV) {
            throw new IllegalArgumentException("send/recv is not a collective over one placement");
        }
        int p = members.size();
        Shape shape = members.get(0).shape();
        if (from instanceof Sbp.Split split) {
            shape = shape.with(split.axis(), members.stream().mapToInt(m -> m.shape().dim(split.axis())).sum());
        }
        GroupParts parts = GroupParts.of(conversion, from, to, shape, p);
        List<HostTensor> results = new ArrayList<>(p);
        for (int i = 0; i < p; i++) {
            results.add(parts.sums() ? sum(parts, members, i) : take(parts, members, i));
        }
        return results;
    }

    /** Member {@code i}'s result of a conversion that moves values: the pieces of its region it takes from each member. */
    private static HostTensor take(GroupParts parts, List<HostTensor> members, int i) {
        Region mine = parts.after(i);
        HostTensor out = HostTensor.zeros(mine.shape(), members.get(0).dtype());
        for (int j = 0; j < parts.peers(); j++) {
            if (!parts.takesFrom(i, j)) {
                continue;
            }
            Region piece = parts.before(j).intersect(mine);
            HostRegions.copy(members.get(j), relative(piece, parts.before(j)), out, relative(piece, mine),
                    piece.shape().toArray());
        }
        return out;
    }

    /** Member {@code i}'s result of a reduction: each reduction part it holds, summed in that part's order. */
    private static HostTensor sum(GroupParts parts, List<HostTensor> members, int i) {
        int p = parts.peers();
        if (parts.conversion() == Conversion.REDUCE_SCATTER) {
            Region part = parts.after(i);
            List<HostTensor> ordered = new ArrayList<>(p);
            for (int position = 0; position < p; position++) {
                HostTensor m = members.get(parts.summand(i, position));
                HostTensor slice = HostTensor.zeros(part.shape(), m.dtype());
                HostRegions.copy(m, part.offsets(), slice, new int[part.rank()], part.shape().toArray());
                ordered.add(slice);
            }
            return HostRegions.sum(ordered);
        }
        HostTensor out = HostTensor.zeros(parts.shape(), members.get(0).dtype());
        for (int k = 0; k < p; k++) {
            int start = Math.toIntExact(parts.flatPartStart(k));
            int length = Math.toIntExact(parts.flatPartLength(k));
            for (int position = 0; position < p; position++) {
                HostRegions.foldRange(out, members.get(parts.summand(k, position)), start, length, position == 0);
            }
        }
        return out;
    }

    private static Map<DeviceId, HostTensor> sendRecv(BoxingPlan plan, SendRecvStep step, Map<DeviceId, HostTensor> shards) {
        Map<DeviceId, HostTensor> out = new LinkedHashMap<>();
        for (int rank = 0; rank < step.to().size(); rank++) {
            Region region = Sharding.region(plan.type().shape(), step.to(), step.toSbp(), rank);
            out.put(step.to().device(rank), HostTensor.zeros(region.shape(), plan.type().dtype()));
        }
        for (SendRecvStep.Transfer t : step.transfers()) {
            Region source = Sharding.region(plan.type().shape(), step.from(), step.fromSbp(), step.from().rank(t.source()));
            Region target = Sharding.region(plan.type().shape(), step.to(), step.toSbp(), step.to().rank(t.target()));
            HostRegions.copy(shards.get(t.source()), relative(t.region(), source), out.get(t.target()),
                    relative(t.region(), target), t.region().shape().toArray());
        }
        return out;
    }

    private static int[] relative(Region piece, Region within) {
        int[] offsets = new int[piece.rank()];
        for (int a = 0; a < offsets.length; a++) {
            offsets[a] = piece.offset(a) - within.offset(a);
        }
        return offsets;
    }

}
