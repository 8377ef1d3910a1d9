package dev.tessera.lowering;

import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.graph.Graph;
import dev.tessera.graph.Initializer;
import dev.tessera.graph.LogicalGraph;
import dev.tessera.graph.Op;
import dev.tessera.graph.OpDef;
import dev.tessera.graph.Phase;
import dev.tessera.graph.Tensor;
import dev.tessera.graph.TensorKind;
import dev.tessera.graph.TensorType;
import dev.tessera.sbp.DeviceId;
import dev.tessera.sbp.LocalLayout;
import dev.tessera.sbp.NdSbp;
import dev.tessera.sbp.NdSbpSignature;
import dev.tessera.sbp.Placement;
import dev.tessera.sbp.Region;
import dev.tessera.sbp.Sbp;
import dev.tessera.sbp.Sharding;
import dev.tessera.sbp.boxing.BoxingPlan;
import dev.tessera.sbp.infer.SbpAssignment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Lowers a training graph with an SBP assignment to one physical op per device per logical op:
 * local shapes ({@link Sharding#region}), ops whose attributes depend on the part replaced
 * through {@link OpDef#onDevice}, and every inserted boxing expanded into collective ops (one
 * per member of each peer group, see {@link CollectiveOps}) with the semantics of
 * {@link dev.tessera.sbp.boxing.HostBoxing}. Parameters, optimizer state and data inputs get one
 * tensor per device holding that device's part.
 *
 * <p>Checked while lowering, so a wrong signature or boxing fails here and not as wrong numbers:
 * every physical op's inputs and outputs have exactly the local types the assignment implies, and
 * no tensor an op updates in place is converted first (the update would land on a copy).
 */
public final class PhysicalLowering {
    private final TrainingGraph logical;
    private final SbpAssignment assignment;
    /** Every device of the run; physical tensor arrays are indexed like it, null where a device holds no part. */
    private final List<DeviceId> devices;
    private final Map<DeviceId, Integer> deviceIndex = new HashMap<>();
    private final Graph store = new Graph();
    /** Per logical tensor, its physical tensor on each rank, in the layout the assignment gives it. */
    private final Map<Tensor, Tensor[]> physical = new HashMap<>();
    private final Map<Tensor, List<Tensor>> shards = new LinkedHashMap<>();
    private final List<DeviceId> deviceOfOp = new ArrayList<>();
    private final Map<Op, Map<Integer, BoxingPlan>> inputBoxings = new HashMap<>();
    private final Map<Op, Map<String, BoxingPlan>> outputBoxings = new HashMap<>();
    private final CollectiveOps collectives;
    private final java.util.Set<Tensor> accumulators = new java.util.HashSet<>();
    /** Per logical op, its physical op on each device (null where it has none). */
    private final Map<Op, Op[]> partsOf = new HashMap<>();
    private List<Op> current;

    private PhysicalLowering(TrainingGraph logical, SbpAssignment assignment) {
        this.logical = logical;
        this.assignment = assignment;
        this.devices = assignment.devices();
        for (int i = 0; i < devices.size(); i++) {
            deviceIndex.put(devices.get(i), i);
        }
        this.collectives = new CollectiveOps(devices, this::addOp);
        for (Tensor p : logical.parameters()) {
            if (logical.accumulator(p) != null) {
                accumulators.add(logical.accumulator(p));
            }
        }
        for (SbpAssignment.InsertedBoxing b : assignment.boxings()) {
            if (b.inputIndex() >= 0) {
                inputBoxings.computeIfAbsent(b.op(), op -> new HashMap<>()).put(b.inputIndex(), b.plan());
            } else {
                outputBoxings.computeIfAbsent(b.op(), op -> new HashMap<>()).put(b.plan().tensor(), b.plan());
            }
        }
    }

    /**
     * @param assignment an assignment of every op of {@code logical} (forward, backward and
     *     update) on one placement, in which the loss and the gradient norm are Broadcast
     * @throws IllegalArgumentException when the assignment converts a tensor an op updates in
     *     place, leaves the loss or gradient norm partial or split, or moves tensors between
     *     placements
     */
    public static DistributedTraining lower(TrainingGraph logical, SbpAssignment assignment) {
        return new PhysicalLowering(logical, assignment).build();
    }

    private DistributedTraining build() {
        List<Tensor> inputs = new ArrayList<>();
        for (Tensor x : logical.forward().inputs()) {
            if (assignment.layouts().containsKey(x)) {
                inputs.addAll(perRank(x, TensorKind.INPUT));
            }
        }
        Tensor learningRate = shared(logical.learningRate());
        Tensor optimizerStep = shared(logical.optimizerStep());
        List<Tensor> parameters = new ArrayList<>();
        for (Tensor p : logical.parameters()) {
            parameters.addAll(perRank(p, TensorKind.PARAMETER));
        }
        List<Tensor> state = new ArrayList<>();
        for (Tensor p : logical.parameters()) {
            Tensor accumulator = logical.accumulator(p);
            if (accumulator != null) {
                perRank(accumulator, TensorKind.STATE);
            }
        }
        for (Tensor s : logical.optimizerState()) {
            state.addAll(perRank(s, TensorKind.STATE));
        }
        List<Tensor> rollbackCopies = new ArrayList<>();
        for (Tensor copy : logical.rollbackCopies()) {
            rollbackCopies.addAll(perRank(copy, TensorKind.STATE));
        }
        List<Op> forwardOps = lowerAll(logical.forwardOps());
        List<Op> backwardOps = lowerAll(logical.backwardOps());
        List<Op> updateOps = lowerAll(logical.updateOps());

        Map<Tensor, Tensor> gradients = new HashMap<>();
        Map<Tensor, Tensor> accumulators = new HashMap<>();
        for (Tensor p : logical.parameters()) {
            Tensor accumulator = logical.accumulator(p);
            if (accumulator == null) {
                continue;
            }
            for (int g = 0; g < devices.size(); g++) {
                Tensor local = physical.get(p)[g];
                if (local == null) {
                    continue;
                }
                Tensor localAccumulator = physical.get(accumulator)[g];
                if (localAccumulator == null) {
                    throw new IllegalArgumentException("parameter '" + p.name() + "' lives on " + assignment.placement(p)
                            + " but its gradient accumulator on " + assignment.placement(accumulator)
                            + "; place a parameter's accumulate and update ops with it");
                }
                accumulators.put(local, localAccumulator);
                Tensor gradient = logical.gradient(p);
                if (gradient != null && physical.containsKey(gradient) && physical.get(gradient)[g] != null) {
                    gradients.put(local, physical.get(gradient)[g]);
                }
            }
        }
        LogicalGraph forward = LogicalGraph.of(store, forwardOps, inputs, parameters);
        TrainingGraph lowered = TrainingGraph.of(forward, replicated(logical.loss(), "loss"), backwardOps, updateOps,
                gradients, accumulators, state, rollbackCopies, learningRate, optimizerStep,
                replicated(logical.gradNorm(), "gradient norm"), logical.options());
        return new DistributedTraining(logical, assignment, lowered, devices, deviceOfOp, shards);
    }

    /** One tensor per device of its placement holding that device's part of {@code t}, named {@code <name>@<device>}. */
    private List<Tensor> perRank(Tensor t, TensorKind kind) {
        NdSbp layout = assignment.layout(t);
        Placement placement = assignment.placement(t);
        // a gradient accumulator may hold partial sums: each device accumulates its own parts
        if (layout.hasPartialSum() && !accumulators.contains(t)) {
            throw new IllegalArgumentException("'" + t.name() + "' would be stored as partial values (" + layout
                    + "); inputs, parameters and optimizer state are stored whole (B) or split (S)");
        }
        Tensor[] local = new Tensor[devices.size()];
        List<Tensor> byRank = new ArrayList<>(placement.size());
        for (int r = 0; r < placement.size(); r++) {
            TensorType type = Sharding.localType(t.type(), placement, layout, r);
            Tensor part = store.newTensor(t.name() + "@" + placement.device(r), type.shape(), type.dtype(), kind,
                    kind == TensorKind.INPUT ? null : Initializer.zeros());
            local[deviceIndex.get(placement.device(r))] = part;
            byRank.add(part);
        }
        physical.put(t, local);
        shards.put(t, byRank);
        return byRank;
    }

    /** A scalar fed once per iteration (learning rate, step): one tensor that every rank reads. */
    private Tensor shared(Tensor t) {
        Tensor one = store.newTensor(t.name(), t.shape(), t.dtype(), TensorKind.INPUT, null);
        Tensor[] all = new Tensor[devices.size()];
        java.util.Arrays.fill(all, one);
        physical.put(t, all);
        shards.put(t, List.of(one));
        return one;
    }

    private Tensor replicated(Tensor t, String what) {
        NdSbp layout = assignment.layout(t);
        Placement placement = assignment.placement(t);
        if (!layout.equals(NdSbp.uniform(placement.axes(), Sbp.broadcast()))) {
            throw new IllegalArgumentException("the " + what + " '" + t.name() + "' is laid out " + layout
                    + "; it must be Broadcast on every device: hint it B");
        }
        return physical.get(t)[deviceIndex.get(placement.device(0))];
    }

    private List<Op> lowerAll(List<Op> ops) {
        current = new ArrayList<>();
        for (Op op : ops) {
            lower(op);
        }
        return current;
    }

    private void lower(Op op) {
        NdSbpSignature signature = assignment.signatures().get(op);
        if (signature == null) {
            throw new IllegalArgumentException("op '" + op.name() + "' has no signature in the assignment; infer the "
                    + "layout of every op of the training graph (forward, backward and update)");
        }
        Map<Integer, BoxingPlan> boxings = inputBoxings.getOrDefault(op, Map.of());
        Tensor[][] inputs = new Tensor[op.inputs().size()][];
        for (int i = 0; i < inputs.length; i++) {
            Tensor input = op.input(i);
            Tensor[] stored = physical.get(input);
            if (stored == null) {
                throw new IllegalArgumentException("op '" + op.name() + "' reads '" + input.name()
                        + "' before any op produced it; the training graph's op order is not topological");
            }
            BoxingPlan boxing = boxings.get(i);
            if (boxing != null && op.def().mutatedInputs().contains(i)) {
                throw new IllegalArgumentException("op '" + op.name() + "' updates '" + input.name() + "' in place but "
                        + "the assignment converts it first (" + boxing.from() + " -> " + boxing.to() + "); the update "
                        + "would land on a copy. Store '" + input.name() + "' as " + boxing.to() + " (hint it)");
            }
            inputs[i] = boxing == null ? stored
                    : collectives.box(boxing, stored, op.phase(), input.kind() == TensorKind.ACTIVATION);
        }
        Placement placement = assignment.placement(op);
        Tensor[][] outputs = new Tensor[op.outputs().size()][devices.size()];
        Op[] parts = new Op[devices.size()];
        partsOf.put(op, parts);
        Op[] forwardParts = op.forwardOp().map(partsOf::get).orElse(null);
        for (int r = 0; r < placement.size(); r++) {
            int device = deviceIndex.get(placement.device(r));
            LocalLayout layout = localLayout(op, signature, placement, r);
            List<Tensor> local = new ArrayList<>(inputs.length);
            for (int i = 0; i < inputs.length; i++) {
                Tensor input = inputs[i][device];
                if (input == null) {
                    throw new IllegalStateException("lowering op '" + op.name() + "' on " + placement.device(r) + ": input '"
                            + op.input(i).name() + "' has no part there; its boxing did not move it to " + placement);
                }
                requireType(op, "input " + i, input.type(), layout.localInput(i), placement.device(r));
                local.add(input);
            }
            // a backward or update op belongs to its forward op's part on the same device
            Op part = addOp(op.name(), op.def().onDevice(layout), local, op.phase(), device,
                    forwardParts == null ? null : forwardParts[device]);
            parts[device] = part;
            for (int o = 0; o < outputs.length; o++) {
                requireType(op, "output " + o, part.output(o).type(), layout.localOutput(o), placement.device(r));
                outputs[o][device] = part.output(o);
            }
        }
        Map<String, BoxingPlan> hinted = outputBoxings.getOrDefault(op, Map.of());
        for (int o = 0; o < outputs.length; o++) {
            Tensor output = op.output(o);
            BoxingPlan boxing = hinted.get(output.name());
            physical.put(output, boxing == null ? outputs[o] : collectives.box(boxing, outputs[o], op.phase(), true));
        }
    }

    private LocalLayout localLayout(Op op, NdSbpSignature signature, Placement placement, int rank) {
        List<Region> in = new ArrayList<>();
        for (int i = 0; i < op.inputs().size(); i++) {
            in.add(Sharding.region(op.input(i).shape(), placement, signature.inputs().get(i), rank));
        }
        List<Region> out = new ArrayList<>();
        for (int o = 0; o < op.outputs().size(); o++) {
            out.add(Sharding.region(op.output(o).shape(), placement, signature.outputs().get(o), rank));
        }
        return new LocalLayout(op.inputTypes(), in, op.outputTypes(), out);
    }

    private void requireType(Op op, String which, TensorType actual, TensorType expected, DeviceId device) {
        if (!actual.equals(expected)) {
            throw new IllegalStateException("lowering op '" + op.name() + "' (" + op.def().type() + ") on "
                    + device + ": " + which + " is " + actual + " but its signature "
                    + assignment.signatures().get(op) + " gives " + expected + "; the op's SBP signature or its "
                    + "onDevice form is wrong");
        }
    }

    private Op addOp(String name, OpDef def, List<Tensor> inputs, Phase phase, int device) {
        return addOp(name, def, inputs, phase, device, null);
    }

    private Op addOp(String name, OpDef def, List<Tensor> inputs, Phase phase, int device, Op forwardOp) {
        Op op = store.addOp(name + "@" + devices.get(device), def, inputs, phase, forwardOp);
        deviceOfOp.add(devices.get(device));
        current.add(op);
        return op;
    }
}
