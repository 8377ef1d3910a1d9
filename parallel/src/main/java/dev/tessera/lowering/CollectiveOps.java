package dev.tessera.lowering;

import dev.tessera.collective.AllGather;
import dev.tessera.collective.AllReduce;
import dev.tessera.collective.AllToAll;
import dev.tessera.collective.LocalSlice;
import dev.tessera.collective.ReduceScatter;
import dev.tessera.collective.RegionJoin;
import dev.tessera.collective.RegionSlice;
import dev.tessera.collective.SendCopy;
import dev.tessera.collective.ZeroFill;
import dev.tessera.collective.ZeroPad;
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
 * Expands a {@link BoxingPlan} into physical ops: for each collective step, one op per member
 * of each peer group, on that member's device, reading the members' tensors in coordinate order
 * (a member's own stored tensor directly, a peer's stored tensor through a {@link SendCopy} into
 * a register, so that data crosses devices only through transfers). Conversions of activations
 * are shared: two consumers that want the same tensor in the same layout read one conversion.
 */
public final class CollectiveOps {
    private final Map<DeviceId, Integer> devices = new HashMap<>();
    private final OpSink sink;
    /** Conversions of activations done so far: source tensor -> (target placement, target layout) -> result. */
    private final Map<Tensor, Map<Target, Tensor[]>> converted = new HashMap<>();

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

    private Tensor[] step(CollectiveStep step, String tensor, Tensor[] current, Phase phase) {
        Tensor[] next = current.clone();
        Sbp from = step.before().get(step.hierarchyAxis());
        Sbp to = step.after().get(step.hierarchyAxis());
        Map<Integer, Tensor> sent = new HashMap<>();
        for (CollectiveStep.PeerGroup group : step.groups()) {
            int[] members = group.devices().stream().mapToInt(this::index).toArray();
            int p = members.length;
            for (int i = 0; i < p; i++) {
                int rank = members[i];
                OpDef def;
                List<Tensor> inputs = List.of(current[rank]);
                switch (step.conversion()) {
                    case ALL_REDUCE -> def = new AllReduce(p);
                    case REDUCE_SCATTER -> def = new ReduceScatter(axis(to), i, p);
                    case ALL_GATHER -> def = new AllGather(axis(from), p);
                    case ALL_TO_ALL -> def = new AllToAll(axis(from), axis(to), i, p);
                    case LOCAL_SLICE -> def = new LocalSlice(axis(to), i, p);
                    case ZERO_FILL -> def = new ZeroFill(i == 0);
                    case ZERO_PAD -> {
                        int offset = 0;
                        int total = 0;
                        for (int j = 0; j < p; j++) {
                            int size = current[members[j]].shape().dim(axis(from));
                            offset += j < i ? size : 0;
                            total += size;
                        }
                        def = new ZeroPad(axis(from), offset, total);
                    }
                    default -> throw new IllegalArgumentException(step.conversion() + " is not a collective");
                }
                if (step.conversion().communicates()) {
                    inputs = new ArrayList<>(p);
                    for (int member : members) {
                        inputs.add(member == rank ? current[member] : sendable(current[member], member, sent, tensor,
                                phase));
                    }
                }
                next[rank] = sink.add(tensor + "/" + def.type(), def, inputs, phase, rank).output(0);
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

    /** A peer's tensor as a register: stored tensors are copied out once per step. */
    private Tensor sendable(Tensor t, int rank, Map<Integer, Tensor> sent, String tensor, Phase phase) {
        if (t.kind() != TensorKind.PARAMETER && t.kind() != TensorKind.STATE) {
            return t;
        }
        return sent.computeIfAbsent(rank, r -> sink.add(tensor + "/send", new SendCopy(), List.of(t), phase, r)
                .output(0));
    }

    private static int axis(Sbp sbp) {
        return ((Sbp.Split) sbp).axis();
    }
}
