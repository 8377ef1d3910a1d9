package dev.tessera.lowering;

import dev.tessera.collective.AllGather;
import dev.tessera.collective.AllReduce;
import dev.tessera.collective.AllToAll;
import dev.tessera.collective.LocalSlice;
import dev.tessera.collective.ReduceScatter;
import dev.tessera.collective.SendCopy;
import dev.tessera.collective.ZeroFill;
import dev.tessera.collective.ZeroPad;
import dev.tessera.graph.Op;
import dev.tessera.graph.OpDef;
import dev.tessera.graph.Phase;
import dev.tessera.graph.Shape;
import dev.tessera.graph.Tensor;
import dev.tessera.graph.TensorKind;
import dev.tessera.sbp.NdSbp;
import dev.tessera.sbp.Placement;
import dev.tessera.sbp.Sbp;
import dev.tessera.sbp.Sharding;
import dev.tessera.sbp.boxing.BoxingPlan;
import dev.tessera.sbp.boxing.BoxingStep;
import dev.tessera.sbp.boxing.CollectiveStep;
import java.util.ArrayList;
import java.util.HashMap;
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
    private final Placement placement;
    private final OpSink sink;
    private final Map<Tensor, Map<NdSbp, Tensor[]>> converted = new HashMap<>();

    /** Adds one physical op of {@code phase} on a rank of the placement, returning it. */
    @FunctionalInterface
    public interface OpSink {
        Op add(String name, OpDef def, List<Tensor> inputs, Phase phase, int rank);
    }

    public CollectiveOps(Placement placement, OpSink sink) {
        this.placement = placement;
        this.sink = sink;
    }

    /**
     * The per-rank tensors after every step of {@code plan}, starting from {@code stored}.
     *
     * @param shareable whether the source is an activation (written once per micro-batch), so
     *     the result may be reused by later consumers wanting the same layout
     */
    public Tensor[] box(BoxingPlan plan, Tensor[] stored, Phase phase, boolean shareable) {
        Tensor key = stored[0];
        if (shareable) {
            Tensor[] done = converted.getOrDefault(key, Map.of()).get(plan.to());
            if (done != null) {
                return done;
            }
        }
        Tensor[] current = stored;
        for (BoxingStep step : plan.steps()) {
            if (!(step instanceof CollectiveStep collective)) {
                throw new IllegalArgumentException("boxing of '" + plan.tensor() + "' moves it from " + plan.fromPlacement()
                        + " to " + plan.toPlacement() + "; lowering runs every op of a training graph on one "
                        + "placement: give all ops the same placement");
            }
            current = step(collective, plan.tensor(), current, phase);
            for (int r = 0; r < current.length; r++) {
                Shape expected = Sharding.localShape(plan.type().shape(), placement, collective.after(), r);
                if (!current[r].shape().equals(expected)) {
                    throw new IllegalStateException(collective.conversion() + " of '" + plan.tensor() + "' left "
                            + current[r].shape() + " on " + placement.device(r) + " where " + collective.after()
                            + " holds " + expected);
                }
            }
        }
        if (shareable) {
            converted.computeIfAbsent(key, k -> new HashMap<>()).put(plan.to(), current);
        }
        return current;
    }

    private Tensor[] step(CollectiveStep step, String tensor, Tensor[] current, Phase phase) {
        Tensor[] next = new Tensor[current.length];
        Sbp from = step.before().get(step.hierarchyAxis());
        Sbp to = step.after().get(step.hierarchyAxis());
        Map<Integer, Tensor> sent = new HashMap<>();
        for (CollectiveStep.PeerGroup group : step.groups()) {
            int[] members = group.devices().stream().mapToInt(placement::rank).toArray();
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
