package dev.tessera.sbp.boxing;

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
 * Runs a {@link BoxingPlan} on host shards with the semantics each step has at run time: within
 * each peer group, a reduction sums the members' tensors in coordinate order, a gather
 * concatenates them in coordinate order, a scatter or slice keeps the member's balanced part.
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

    /** One conversion over one peer group, member {@code i} being at coordinate {@code i}. */
    static List<HostTensor> run(Conversion conversion, Sbp from, Sbp to, List<HostTensor> members) {
        int p = members.size();
        List<HostTensor> results = new ArrayList<>(p);
        switch (conversion) {
            case ALL_REDUCE -> {
                HostTensor sum = HostRegions.sum(members);
                for (int i = 0; i < p; i++) {
                    results.add(sum.copy());
                }
            }
            case REDUCE_SCATTER -> {
                HostTensor sum = HostRegions.sum(members);
                for (int i = 0; i < p; i++) {
                    results.add(part(sum, splitAxis(to), p, i));
                }
            }
            case ALL_GATHER -> {
                HostTensor whole = HostRegions.concat(members, splitAxis(from));
                for (int i = 0; i < p; i++) {
                    results.add(whole.copy());
                }
            }
            case ALL_TO_ALL -> {
                HostTensor whole = HostRegions.concat(members, splitAxis(from));
                for (int i = 0; i < p; i++) {
                    results.add(part(whole, splitAxis(to), p, i));
                }
            }
            case LOCAL_SLICE -> {
                for (int i = 0; i < p; i++) {
                    results.add(part(members.get(i), splitAxis(to), p, i));
                }
            }
            case ZERO_FILL -> {
                for (int i = 0; i < p; i++) {
                    HostTensor m = members.get(i);
                    results.add(i == 0 ? m.copy() : HostTensor.zeros(m.shape(), m.dtype()));
                }
            }
            case ZERO_PAD -> {
                int axis = splitAxis(from);
                int total = members.stream().mapToInt(m -> m.shape().dim(axis)).sum();
                int offset = 0;
                for (HostTensor m : members) {
                    HostTensor padded = HostTensor.zeros(m.shape().with(axis, total), m.dtype());
                    int[] at = new int[m.shape().rank()];
                    at[axis] = offset;
                    HostRegions.copy(m, new int[at.length], padded, at, m.shape().toArray());
                    results.add(padded);
                    offset += m.shape().dim(axis);
                }
            }
            case SEND_RECV -> throw new IllegalArgumentException("send/recv is not a collective over one placement");
        }
        return results;
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

    private static HostTensor part(HostTensor t, int axis, int parts, int index) {
        int size = t.shape().dim(axis);
        return HostRegions.slice(t, axis, Sharding.partStart(size, parts, index), Sharding.partLength(size, parts, index));
    }

    private static int splitAxis(Sbp sbp) {
        return ((Sbp.Split) sbp).axis();
    }
}
