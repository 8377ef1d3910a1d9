package dev.tessera.lowering;

import dev.tessera.collective.GroupCollective;
import dev.tessera.collective.RegionJoin;
import dev.tessera.collective.RegionSlice;
import dev.tessera.graph.Op;
import dev.tessera.graph.OpDef;
import dev.tessera.graph.Phase;
import dev.tessera.graph.Shape;
import dev.tessera.graph.Tensor;
import dev.tessera.graph.TensorKind;
import dev.tessera.sbp.DeviceId;
import dev.tessera.sbp.NdSbp;
import dev.tessera.sbp.Placement;
import dev.tessera.sbp.Region;
import dev.tessera.sbp.Sbp;
import dev.tessera.sbp.Sharding;
import dev.tessera.sbp.boxing.BoxingPlan;
import dev.tessera.sbp.boxing.BoxingStep;
import dev.tessera.sbp.boxing.CollectiveStep;
import dev.tessera.sbp.boxing.SendRecvStep;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Expands a {@link BoxingPlan} into physical ops: for each collective step, one
 * {@link GroupCollective} member per device of each peer group, reading only that device's part
 * (the members exchange their pieces over the transport at run time, as the step's algorithm
 * says); for each send/recv step, slices cut on the senders and joins on the receivers, moved by
 * the plan's transfers. Conversions of activations are shared: two consumers that want the same
 * tensor in the same layout read one conversion.
 */
public final class CollectiveOps {
    private final Map<DeviceId, Integer> devices = new HashMap<>();
    private final OpSink sink;
    /** Conversions of activations done so far: source tensor -> (target placement, target layout) -> result. */
    private final Map<Tensor, Map<Target, Tensor[]>> converted = new HashMap<>();
    /** Collective id of the next peer group: unique within the lowered graph. */
    private int nextGroup;

    private record Target(Placement placement, NdSbp layout) {
    }

    /** Adds one physical op of {@code phase} on the device at {@code index} of the run's devices, returning it. */
    @FunctionalInterface
    public interface OpSink {
        Op add(String name, OpDef def, List<Tensor> inputs, Phase phase, int index);
    }

    /**
     * @param devices every device of the run; tensors are passed and returned as arrays indexed
     *     like this list, null where a device holds no part
     */
    public CollectiveOps(List<DeviceId> devices, OpSink sink) {
        for (int i = 0; i < devices.size(); i++) {
            this.devices.put(devices.get(i), i);
        }
        this.sink = sink;
    }

    /** Index of a device among the run's devices. */
    int index(DeviceId device) {
        Integer i = devices.get(device);
        if (i == null) {
            throw new IllegalArgumentException("device " + device + " is not one of the run's devices " + devices.keySet());
        }
        return i;
    }

    /**
     * The per-rank tensors after every step of {@code plan}, starting from {@code stored}.
     *
     * @param shareable whether the source is an activation (written once per micro-batch), so
     *     the result may be reused by later consumers wanting the same layout
     */
    public Tensor[] box(BoxingPlan plan, Tensor[] stored, Phase phase, boolean shareable) {
        Tensor key = java.util.Arrays.stream(stored).filter(java.util.Objects::nonNull).findFirst().orElseThrow();
        if (shareable) {
            Tensor[] done = converted.getOrDefault(key, Map.of()).get(new Target(plan.toPlacement(), plan.to()));
            if (done != null) {
                return done;
            }
        }
        Tensor[] current = stored;
        for (BoxingStep step : plan.steps()) {
            Placement placement;
            NdSbp after;
            if (step instanceof CollectiveStep collective) {
                current = step(collective, plan.tensor(), current, phase);
                placement = collective.placement();
                after = collective.after();
            } else {
                SendRecvStep send = (SendRecvStep) step;
                current = sendRecv(send, plan, current, phase);
                placement = send.to();
                after = send.toSbp();
            }
            for (int r = 0; r < placement.size(); r++) {
                Shape expected = Sharding.localShape(plan.type().shape(), placement, after, r);
                Tensor local = current[index(placement.device(r))];
                if (local == null || !local.shape().equals(expected)) {
                    throw new IllegalStateException(step.conversion() + " of '" + plan.tensor() + "' left "
                            + (local == null ? "nothing" : local.shape()) + " on " + placement.device(r) + " where "
                            + after + " holds " + expected);
                }
            }
        }
        if (shareable) {
            converted.computeIfAbsent(key, k -> new HashMap<>()).put(new Target(plan.toPlacement(), plan.to()), current);
        }
        return current;
    }

    /**
     * One member op per device of each peer group, reading only that device's part: the worker
     * runs it as a collective member that exchanges pieces with its peers. Each peer group of
     * each step gets its own collective id.
     */
    private Tensor[] step(CollectiveStep step, String tensor, Tensor[] current, Phase phase) {
        Tensor[] next = current.clone();
        Sbp from = step.before().get(step.hierarchyAxis());
        Sbp to = step.after().get(step.hierarchyAxis());
        for (CollectiveStep.PeerGroup group : step.groups()) {
            int[] members = group.devices().stream().mapToInt(this::index).toArray();
            int id = nextGroup++;
            for (int i = 0; i < members.length; i++) {
                GroupCollective def = new GroupCollective(step.conversion(), from, to, group.type().shape(),
                        members.length, i, step.algorithm(), id);
                next[members[i]] = sink.add(tensor + "/" + def.type(), def, List.of(current[members[i]]), phase,
                        members[i]).output(0);
            }
        }
        return next;
    }

    /**
     * Each receiving device assembles its part from the pieces the step lists: a piece is cut
     * from the sender's part on the sender (so only it crosses devices) and joined on the
     * receiver. Afterwards only the receiving placement's devices hold the tensor.
     */
    private Tensor[] sendRecv(SendRecvStep step, BoxingPlan plan, Tensor[] current, Phase phase) {
        Tensor[] next = new Tensor[current.length];
        Shape logical = plan.type().shape();
        Map<DeviceId, List<SendRecvStep.Transfer>> byTarget = new LinkedHashMap<>();
        for (SendRecvStep.Transfer t : step.transfers()) {
            byTarget.computeIfAbsent(t.target(), d -> new ArrayList<>()).add(t);
        }
        for (int r = 0; r < step.to().size(); r++) {
            DeviceId target = step.to().device(r);
            Region targetRegion = Sharding.region(logical, step.to(), step.toSbp(), r);
            List<Tensor> pieces = new ArrayList<>();
            List<List<Integer>> offsets = new ArrayList<>();
            for (SendRecvStep.Transfer t : byTarget.getOrDefault(target, List.of())) {
                int source = index(t.source());
                Region sourceRegion = Sharding.region(logical, step.from(), step.fromSbp(), step.from().rank(t.source()));
                Tensor held = current[source];
                Tensor piece = t.region().equals(sourceRegion) && held.kind() == TensorKind.ACTIVATION ? held
                        : sink.add(plan.tensor() + "/send", new RegionSlice(relative(t.region(), sourceRegion),
                                boxed(t.region().shape().toArray())), List.of(held), phase, source).output(0);
                pieces.add(piece);
                offsets.add(relative(t.region(), targetRegion));
            }
            next[index(target)] = pieces.size() == 1 && wholePiece(targetRegion, offsets, pieces) ? pieces.get(0)
                    : sink.add(plan.tensor() + "/recv", new RegionJoin(targetRegion.shape(), offsets), pieces, phase,
                            index(target)).output(0);
        }
        return next;
    }

    private static boolean wholePiece(Region target, List<List<Integer>> offsets, List<Tensor> pieces) {
        return pieces.get(0).shape().equals(target.shape()) && offsets.get(0).stream().allMatch(o -> o == 0);
    }

    private static List<Integer> relative(Region piece, Region within) {
        List<Integer> offsets = new ArrayList<>(piece.rank());
        for (int a = 0; a < piece.rank(); a++) {
            offsets.add(piece.offset(a) - within.offset(a));
        }
        return offsets;
    }

    private static List<Integer> boxed(int[] values) {
        return java.util.Arrays.stream(values).boxed().toList();
    }

}
