package dev.tessera.worker.actors;

import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.graph.Op;
import dev.tessera.graph.Phase;
import dev.tessera.graph.Tensor;
import dev.tessera.graph.TensorKind;
import dev.tessera.ops.Reshape;
import dev.tessera.runtime.plan.ActorKind;
import dev.tessera.runtime.plan.Plan;
import dev.tessera.runtime.plan.PlanBuilder;
import dev.tessera.worker.actors.PlanNode.Role;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Lowers a {@link TrainingGraph} onto an actor-runtime {@link Plan}: one actor per op, a source
 * per data input, a sink for the loss, one for the gradient norm per device that updates
 * parameters, transfer actors where a tensor crosses devices. Activations travel in registers;
 * parameters and optimizer state are buffers bound directly into the kernels, so their order of
 * access is made explicit:
 *
 * <ul>
 *   <li>Within an iteration, every access to a parameter or state tensor happens in the
 *       reference order: an update op (phase U, working at the last micro-batch) acts after
 *       every F/B/W op that touches the same tensor (control edges per micro-batch).</li>
 *   <li>Across iterations, an F/B/W op touching a tensor that an update op writes (or reads,
 *       when the F/B/W op writes it) acts in iteration t+1 only after that update op finished
 *       iteration t (iteration edges), e.g. a matmul after its weight's optimizer step, a
 *       gradient accumulation after the squared norm, clipping and the update used the accumulator.</li>
 *   <li>The gradient norm's op acts after the loss sink, and every update op that writes a
 *       tensor (clipping, the optimizer steps) after a sink of its device checked the norm, so an
 *       iteration with a non-finite loss or gradient updates nothing. The squared norms before
 *       it only read.</li>
 * </ul>
 *
 * An ordering edge between devices goes through a token: the earlier actor gets an extra
 * output that a transfer actor on the later actor's device consumes, and the later actor
 * waits for that transfer instead.
 */
final class TrainingLowering {
    private final TrainingGraph graph;
    private final int devices;
    private final int quota;
    private final int sourceQuota;
    private final List<PlanNode> nodes = new ArrayList<>();
    private final Map<Tensor, int[]> producers = new HashMap<>();
    /** Output of a reshape folded into its consumers -> the tensor whose buffer it views. */
    private final Map<Tensor, Tensor> views = new HashMap<>();

    private TrainingLowering(TrainingGraph graph, int devices, int quota, int sourceQuota) {
        this.graph = graph;
        this.devices = devices;
        this.quota = quota;
        this.sourceQuota = sourceQuota;
    }

    /** The plan and its actors, in plan id order. */
    record Lowered(Plan plan, List<PlanNode> nodes) {
    }

    /**
     * @param quota       registers of every output but a source's
     * @param sourceQuota registers of a source's output, and of the transfers that hand it to
     *                    other devices (they alias the source's buffers): micro-batches a source
     *                    may load ahead of its consumers
     * @param withUpdate false to lower only the F, B and W ops (gradients without an update)
     * @throws IllegalArgumentException when the placement names an unknown device, or a
     *     parameter or state tensor is written by an F/B/W op that is not its only F/B/W user
     */
    static Lowered lower(TrainingGraph graph, Placement placement, int devices, int quota, int sourceQuota,
                         boolean withUpdate) {
        if (devices < 1 || quota < 1 || sourceQuota < 1) {
            throw new IllegalArgumentException("need at least 1 device and register quotas of at least 1, got "
                    + devices + " devices, quota " + quota + " and source quota " + sourceQuota);
        }
        return new TrainingLowering(graph, devices, quota, sourceQuota).build(placement, withUpdate);
    }

    private Lowered build(Placement placement, boolean withUpdate) {
        List<Op> ops = new ArrayList<>(graph.forwardOps());
        ops.addAll(graph.backwardOps());
        if (withUpdate) {
            ops.addAll(graph.updateOps());
        }
        int[] opDevices = place(ops, placement);
        foldReshapes(ops);
        Set<Tensor> dataInputs = new HashSet<>(graph.forward().inputs());
        Map<Tensor, Integer> sources = new LinkedHashMap<>();
        for (int i = 0; i < ops.size(); i++) {
            if (folded(ops.get(i))) {
                continue;
            }
            for (Tensor read : ops.get(i).inputs()) {
                Tensor input = views.getOrDefault(read, read);
                if (dataInputs.contains(input) && !sources.containsKey(input)) {
                    sources.put(input, add("source:" + input.name(), "Source", opDevices[i], null,
                            ActorKind.SOURCE, Role.SOURCE, null, input).id);
                    nodes.get(sources.get(input)).quotas.add(sourceQuota);
                }
            }
        }
        List<PlanNode> opNodes = new ArrayList<>();
        for (int i = 0; i < ops.size(); i++) {
            Op op = ops.get(i);
            if (folded(op)) {
                continue;
            }
            PlanNode node = add(op.name(), op.def().type(), opDevices[i], op.phase(), ActorKind.COMPUTE, Role.OP, op,
                    null);
            for (int out = 0; out < op.outputs().size(); out++) {
                node.quotas.add(quota);
                producers.put(op.output(out), new int[] {node.id, out});
            }
            node.slots = new int[op.inputs().size()];
            node.reads = new Tensor[op.inputs().size()];
            for (int k = 0; k < op.inputs().size(); k++) {
                node.reads[k] = views.getOrDefault(op.input(k), op.input(k));
                node.slots[k] = slot(node, node.reads[k], sources);
            }
            opNodes.add(node);
        }
        PlanNode normNode = withUpdate ? nodes.get(producer(graph.gradNorm())[0]) : null;
        int[] loss = producer(graph.loss());
        PlanNode lossSink = add("sink:loss", "LossSink", normNode != null ? normNode.device : nodes.get(loss[0]).device,
                null, ActorKind.SINK, Role.LOSS_SINK, null, graph.loss());
        connect(lossSink, loss[0], loss[1]);
        if (normNode != null) {
            order(lossSink, normNode);
            orderUpdatesAfterNormChecks(normNode, opNodes);
        }
        orderPersistentAccesses(opNodes);
        return new Lowered(emit(), List.copyOf(nodes));
    }

    /**
     * Every update op that writes acts only after a sink on its device found the gradient norm
     * finite: a NaN or infinity in any gradient element makes the norm non-finite, so this one
     * scalar check keeps a bad gradient out of every parameter and optimizer state. A sink cannot
     * send ordering tokens, so each such device gets its own sink, fed the norm by a transfer; the
     * one on the norm's device records it.
     */
    private void orderUpdatesAfterNormChecks(PlanNode normNode, List<PlanNode> opNodes) {
        int[] norm = producer(graph.gradNorm());
        Map<Integer, PlanNode> checks = new LinkedHashMap<>();
        checks.put(normNode.device, add("sink:grad_norm", "GradNormSink", normNode.device, null, ActorKind.SINK,
                Role.NORM_SINK, null, graph.gradNorm()));
        for (PlanNode node : opNodes) {
            if (node.phase == Phase.UPDATE && !node.op.def().mutatedInputs().isEmpty()) {
                PlanNode check = checks.computeIfAbsent(node.device, device -> add("sink:grad_norm@cpu:" + device,
                        "GradNormSink", device, null, ActorKind.SINK, Role.NORM_CHECK, null, graph.gradNorm()));
                order(check, node);
            }
        }
        for (PlanNode check : checks.values()) {
            connect(check, norm[0], norm[1]);
        }
    }

    private int[] place(List<Op> ops, Placement placement) {
        int[] opDevices = new int[ops.size()];
        Map<Tensor, Integer> producedBy = new HashMap<>();
        for (int i = 0; i < ops.size(); i++) {
            Op op = ops.get(i);
            int device = placement.device(op);
            if (device == Placement.FOLLOW) {
                int latest = op.inputs().stream().filter(producedBy::containsKey).mapToInt(producedBy::get).max()
                        .orElse(-1);
                device = latest < 0 ? 0 : opDevices[latest];
            }
            if (device < 0 || device >= devices) {
                throw new IllegalArgumentException("placement put op '" + op.name() + "' on device " + device
                        + " but the run has " + devices + " devices (runtime.devices)");
            }
            opDevices[i] = device;
            for (Tensor out : op.outputs()) {
                producedBy.put(out, i);
            }
        }
        return opDevices;
    }

    /**
     * A reshape of a C-order buffer is a view of it, so, like the reference executor, the
     * lowering runs no reshape: its consumers read the reshape's input register (or parameter)
     * viewed in the reshape's shape. Kept as actors: reshapes to a scalar (the loss may be one)
     * and reshapes of or into an activation that some op writes to.
     */
    private void foldReshapes(List<Op> ops) {
        Set<Tensor> written = new HashSet<>();
        for (Op op : ops) {
            op.def().mutatedInputs().forEach(k -> written.add(op.input(k)));
        }
        for (Op op : ops) {
            if (!(op.def() instanceof Reshape)) {
                continue;
            }
            Tensor out = op.output(0);
            Tensor in = op.input(0);
            boolean persistent = in.kind() == TensorKind.PARAMETER || in.kind() == TensorKind.STATE;
            // A view of a parameter is ordered like the parameter itself (see orderPersistentAccesses).
            if (out.shape().rank() > 0 && !written.contains(out)
                    && (persistent || !written.contains(in)) && !out.equals(graph.loss())) {
                views.put(out, views.getOrDefault(op.input(0), op.input(0)));
            }
        }
    }

    private boolean folded(Op op) {
        return !op.outputs().isEmpty() && views.containsKey(op.output(0));
    }

    private int slot(PlanNode node, Tensor input, Map<Tensor, Integer> sources) {
        if (input.equals(graph.learningRate())) {
            return PlanNode.LEARNING_RATE;
        }
        if (input.equals(graph.optimizerStep())) {
            return PlanNode.OPTIMIZER_STEP;
        }
        if (input.kind() == TensorKind.PARAMETER || input.kind() == TensorKind.STATE) {
            return PlanNode.PERSISTENT;
        }
        if (sources.containsKey(input)) {
            return connect(node, sources.get(input), 0);
        }
        int[] from = producer(input);
        return connect(node, from[0], from[1]);
    }

    private int[] producer(Tensor tensor) {
        int[] from = producers.get(tensor);
        if (from == null) {
            throw new IllegalArgumentException("tensor '" + tensor.name() + "' is read before any op of the "
                    + "training graph produced it; the graph's op order is not a topological order");
        }
        return from;
    }

    /** Adds an input of {@code consumer} reading {@code output} of {@code producer}, through a transfer if needed. */
    private int connect(PlanNode consumer, int producer, int output) {
        int from = nodes.get(producer).device == consumer.device ? producer : transfer(producer, output, consumer.device);
        return consumer.inputFrom(from, from == producer ? output : 0);
    }

    private int transfer(int producer, int output, int device) {
        PlanNode from = nodes.get(producer);
        Map<Integer, Integer> byDevice = from.transfers.computeIfAbsent(output, k -> new HashMap<>());
        Integer existing = byDevice.get(device);
        if (existing != null) {
            return existing;
        }
        String what = output == from.tokenOutput ? "token:" + from.name
                : "transfer:" + (from.op != null ? from.op.output(output).name() : from.tensor.name());
        PlanNode transfer = add(what + "@cpu:" + device, "Transfer", device, null, ActorKind.TRANSFER, Role.TRANSFER,
                null, null);
        transfer.inputs.add(new int[] {producer, output});
        transfer.quotas.add(from.role == Role.SOURCE ? sourceQuota : quota);
        byDevice.put(device, transfer.id);
        return transfer.id;
    }

    /** {@code later} acts for each micro-batch only after {@code earlier} did. */
    private void order(PlanNode earlier, PlanNode later) {
        if (earlier != later) {
            later.after.add(earlier.device == later.device ? earlier.id : token(earlier, later.device));
        }
    }

    /** {@code later} acts in iteration t+1 only after {@code earlier} finished iteration t. */
    private void orderAcrossIterations(PlanNode earlier, PlanNode later) {
        if (earlier != later) {
            later.afterPreviousIteration.add(earlier.device == later.device ? earlier.id : token(earlier, later.device));
        }
    }

    /** A transfer on {@code device} that acts for each micro-batch right after {@code node} did. */
    private int token(PlanNode node, int device) {
        if (node.tokenOutput < 0) {
            node.tokenOutput = node.quotas.size();
            node.quotas.add(quota);
        }
        return transfer(node.id, node.tokenOutput, device);
    }

    private record Access(PlanNode node, boolean writes) {
        boolean update() {
            return node.phase == Phase.UPDATE;
        }
    }

    private void orderPersistentAccesses(List<PlanNode> opNodes) {
        Map<Tensor, List<Access>> accesses = new LinkedHashMap<>();
        for (PlanNode node : opNodes) {
            Map<Tensor, Boolean> touched = new LinkedHashMap<>();
            for (int k = 0; k < node.op.inputs().size(); k++) {
                if (node.slots[k] == PlanNode.PERSISTENT) {
                    touched.merge(node.reads[k], node.op.def().mutatedInputs().contains(k), Boolean::logicalOr);
                }
            }
            touched.forEach((tensor, writes) ->
                    accesses.computeIfAbsent(tensor, t -> new ArrayList<>()).add(new Access(node, writes)));
        }
        accesses.forEach((tensor, list) -> {
            if (list.stream().noneMatch(Access::writes)) {
                return;
            }
            List<Access> perMicroBatch = list.stream().filter(a -> !a.update()).toList();
            if (perMicroBatch.size() > 1 && perMicroBatch.stream().anyMatch(Access::writes)) {
                throw new IllegalArgumentException("'" + tensor.name() + "' is written by an F/B/W op and used by "
                        + perMicroBatch.size() + " F/B/W ops (" + perMicroBatch.stream().map(a -> a.node.name)
                        .toList() + "); the actor lowering keeps such a tensor in order only when one op "
                        + "uses it per micro-batch: accumulate into it from a single op");
            }
            for (int i = 0; i < list.size(); i++) {
                for (int j = i + 1; j < list.size(); j++) {
                    Access a = list.get(i);
                    Access b = list.get(j);
                    if (a.writes || b.writes) {
                        order(a.node, b.node);
                        if (a.update() && b.update()) {
                            orderAcrossIterations(b.node, a.node);
                        }
                    }
                }
            }
            for (Access update : list) {
                for (Access access : perMicroBatch) {
                    if (update.update() && (update.writes || access.writes)) {
                        orderAcrossIterations(update.node, access.node);
                    }
                }
            }
        });
    }

    private PlanNode add(String name, String opType, int device, Phase phase, ActorKind kind, Role role, Op op,
                         Tensor tensor) {
        PlanNode node = new PlanNode(nodes.size(), name, opType, device, phase, kind, role, op, tensor);
        nodes.add(node);
        return node;
    }

    private Plan emit() {
        PlanBuilder builder = new PlanBuilder();
        for (int d = 0; d < devices; d++) {
            builder.device("cpu:" + d);
        }
        for (PlanNode node : nodes) {
            PlanBuilder.ActorBuilder actor = builder.actor(node.name, node.opType, node.device).kind(node.kind);
            if (node.phase != null) {
                actor.phase(node.phase);
            }
            node.inputs.forEach(input -> actor.input(input[0], input[1]));
            node.quotas.forEach(actor::output);
            node.after.forEach(actor::after);
            node.afterPreviousIteration.forEach(actor::afterPreviousIteration);
            if (actor.add() != node.id) {
                throw new IllegalStateException("plan ids diverged from the lowering's at '" + node.name + "'");
            }
        }
        return builder.build();
    }
}
