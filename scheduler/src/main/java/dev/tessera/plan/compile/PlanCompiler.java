package dev.tessera.plan.compile;

import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.collective.GroupCollective;
import dev.tessera.graph.Op;
import dev.tessera.graph.Phase;
import dev.tessera.graph.Tensor;
import dev.tessera.graph.TensorKind;
import dev.tessera.lowering.DistributedTraining;
import dev.tessera.ops.Reshape;
import dev.tessera.optim.BackedUpUpdate;
import dev.tessera.optim.StepValidation;
import dev.tessera.optim.ValidateUpdate;
import dev.tessera.proto.plan.ActorKind;
import dev.tessera.proto.plan.PlanProto;
import dev.tessera.proto.plan.SinkRole;
import dev.tessera.sbp.DeviceId;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * Compiles a training graph whose ops are placed on devices into the execution plan
 * ({@code tessera_plan.proto}): one actor per op (a collective member for each
 * {@link GroupCollective}, grouped per collective), a source per data input, a sink for the loss,
 * one for the gradient norm per device that updates parameters, transfer actors where a tensor
 * crosses devices, a register quota per output ({@link PlanOptions#registerQuota()} and
 * {@link PlanOptions#sourceQuota()}, or the tensor's own from {@link PlanOptions#outputQuotas()}). Activations travel in registers; parameters and
 * optimizer state are buffers the worker binds directly into the kernels, so their order of
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
 *       iteration with a non-finite loss or gradient updates nothing.</li>
 * </ul>
 *
 * An ordering edge between devices goes through a token: the earlier actor gets an extra
 * output that a transfer actor on the later actor's device consumes, and the later actor
 * waits for that transfer instead. With a pipeline schedule ({@link PlanOptions#schedule()}) every
 * device gets the action order the schedule expands to and the quotas that order needs
 * ({@link ScheduleOrders}); without one, no device has an order and actors act as their data
 * arrives. The compiler is pure: the same graph, devices and options give the same plan.
 */
public final class PlanCompiler {
    private final TrainingGraph graph;
    private final List<DeviceId> devices;
    private final PlanOptions options;
    private final List<ActorDraft> actors = new ArrayList<>();
    private final Map<Tensor, int[]> producers = new HashMap<>();
    /** Output of a reshape folded into its consumers -> the tensor whose buffer it views. */
    private final Map<Tensor, Tensor> views = new HashMap<>();

    private PlanCompiler(TrainingGraph graph, List<DeviceId> devices, PlanOptions options) {
        this.graph = graph;
        this.devices = List.copyOf(devices);
        this.options = options;
    }

    /** The plan of a physical training graph: every op on the device the lowering gave it. */
    public static PlanProto compile(DistributedTraining distributed, PlanOptions options) {
        return compile(distributed.physical(), distributed.devices(), distributed::device, options);
    }

    /**
     * @param devices the plan's devices, in the order the plan lists them
     * @param deviceOfOp the device, one of {@code devices}, that runs each op
     * @throws IllegalArgumentException when an op is placed on a device that is not in
     *     {@code devices}, a parameter or state tensor is written by an F/B/W op that is not
     *     its only F/B/W user, or the options' schedule does not match the layout (see
     *     {@link ScheduleOrders#apply})
     */
    public static PlanProto compile(TrainingGraph graph, List<DeviceId> devices, Function<Op, DeviceId> deviceOfOp,
                                    PlanOptions options) {
        if (devices.isEmpty()) {
            throw new IllegalArgumentException("a plan needs at least one device");
        }
        return new PlanCompiler(graph, devices, options).build(deviceOfOp);
    }

    private PlanProto build(Function<Op, DeviceId> deviceOfOp) {
        List<Op> ops = new ArrayList<>(graph.forwardOps());
        ops.addAll(graph.backwardOps());
        if (options.withUpdate()) {
            ops.addAll(graph.updateOps());
        }
        int[] opDevices = place(ops, deviceOfOp);
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
                    ActorDraft source = add("source:" + input.name(), "Source", opDevices[i], null, ActorKind.SOURCE,
                            null, input, null);
                    source.output(options.quotaOf(input.name(), options.sourceQuota()), input);
                    sources.put(input, source.id);
                }
            }
        }
        List<ActorDraft> opActors = new ArrayList<>();
        for (int i = 0; i < ops.size(); i++) {
            Op op = ops.get(i);
            if (folded(op)) {
                continue;
            }
            ActorKind kind = op.def() instanceof GroupCollective ? ActorKind.COLLECTIVE : ActorKind.COMPUTE;
            ActorDraft actor = add(op.name(), op.def().type(), opDevices[i], op.phase(), kind, op, null, null);
            for (int out = 0; out < op.outputs().size(); out++) {
                actor.output(options.quotaOf(op.output(out).name(), options.registerQuota()), op.output(out));
                producers.put(op.output(out), new int[] {actor.id, out});
            }
            actor.operands = new int[op.inputs().size()];
            actor.reads = new Tensor[op.inputs().size()];
            for (int k = 0; k < op.inputs().size(); k++) {
                actor.reads[k] = views.getOrDefault(op.input(k), op.input(k));
                actor.operands[k] = operand(actor, actor.reads[k], sources);
            }
            opActors.add(actor);
        }
        ActorDraft norm = options.withUpdate() ? actors.get(producer(graph.gradNorm())[0]) : null;
        int[] loss = producer(graph.loss());
        ActorDraft lossSink = add("sink:loss", "LossSink", norm != null ? norm.device : actors.get(loss[0]).device,
                null, ActorKind.SINK, null, graph.loss(), SinkRole.LOSS);
        connect(lossSink, loss[0], loss[1]);
        if (norm != null) {
            order(lossSink, norm);
            if (graph.options().stepValidation() == StepValidation.POST_VALIDATION) {
                orderNormChecksAfterValidations(norm, opActors);
            } else {
                orderUpdatesAfterNormChecks(norm, opActors);
            }
        }
        PersistentAccessOrder.apply(opActors, this::order, this::orderAcrossIterations);
        requireQuotasHeld();
        PlanProto plan = PlanWriter.write(options, graph.options().microBatches(), devices, actors);
        return options.schedule().map(schedule -> ScheduleOrders.apply(plan, schedule, options.stageOfOp()))
                .orElse(plan);
    }

    /**
     * Every update op that writes acts only after a sink on its device found the gradient norm
     * finite: a NaN or infinity in any gradient element makes the norm non-finite, so this one
     * scalar check keeps a bad gradient out of every parameter and optimizer state.
     */
    private void orderUpdatesAfterNormChecks(ActorDraft norm, List<ActorDraft> opActors) {
        NormChecks checks = new NormChecks(norm);
        for (ActorDraft actor : opActors) {
            if (actor.phase == Phase.UPDATE && !actor.op.def().mutatedInputs().isEmpty()) {
                order(checks.on(actor.device), actor);
            }
        }
        checks.connect();
    }

    /**
     * Post-validation: updates act as soon as their gradients are complete, and each device's
     * validations restore what a clipped or non-finite iteration must not change. A norm sink on
     * each such device acts after its validations, so a non-finite norm stops the job only once
     * that device has rolled back, and the next iteration's updates there wait for it (an
     * iteration edge), so no update follows a failed iteration. A device stopped before its
     * validations ran is rolled back by the executor.
     */
    private void orderNormChecksAfterValidations(ActorDraft norm, List<ActorDraft> opActors) {
        NormChecks checks = new NormChecks(norm);
        for (ActorDraft actor : opActors) {
            if (actor.op.def() instanceof ValidateUpdate) {
                order(actor, checks.on(actor.device));
            } else if (actor.op.def() instanceof BackedUpUpdate) {
                orderAcrossIterations(checks.on(actor.device), actor);
            }
        }
        checks.connect();
    }

    /**
     * The gradient-norm sinks: the one on the norm's device records it, and every other device
     * that needs the check gets its own, fed the norm by a transfer (a sink cannot send ordering
     * tokens to another device).
     */
    private final class NormChecks {
        private final Map<Integer, ActorDraft> byDevice = new LinkedHashMap<>();

        NormChecks(ActorDraft norm) {
            byDevice.put(norm.device, add("sink:grad_norm", "GradNormSink", norm.device, null, ActorKind.SINK, null,
                    graph.gradNorm(), SinkRole.GRADIENT_NORM));
        }

        ActorDraft on(int device) {
            return byDevice.computeIfAbsent(device, d -> add("sink:grad_norm@" + devices.get(d), "GradNormSink", d,
                    null, ActorKind.SINK, null, graph.gradNorm(), SinkRole.GRADIENT_NORM_CHECK));
        }

        void connect() {
            int[] normOutput = producer(graph.gradNorm());
            for (ActorDraft check : byDevice.values()) {
                PlanCompiler.this.connect(check, normOutput[0], normOutput[1]);
            }
        }
    }

    /** Every tensor given its own quota is held by some output of the plan. */
    private void requireQuotasHeld() {
        Set<String> held = new HashSet<>();
        for (ActorDraft actor : actors) {
            actor.outputTensors.stream().filter(t -> t != null).forEach(t -> held.add(t.name()));
        }
        List<String> unknown = options.outputQuotas().keySet().stream().filter(t -> !held.contains(t)).sorted().toList();
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException("PlanOptions sets register quotas for " + unknown + ", which no output "
                    + "of the plan holds; name physical tensors that ops or sources produce (folded reshapes and "
                    + "parameters hold no register)");
        }
    }

    /** The index into the plan's device list of each op's device (the proto names devices by that index). */
    private int[] place(List<Op> ops, Function<Op, DeviceId> deviceOfOp) {
        Map<DeviceId, Integer> index = new HashMap<>();
        for (int d = 0; d < devices.size(); d++) {
            index.putIfAbsent(devices.get(d), d);
        }
        int[] opDevices = new int[ops.size()];
        for (int i = 0; i < ops.size(); i++) {
            Op op = ops.get(i);
            DeviceId device = deviceOfOp.apply(op);
            Integer position = index.get(device);
            if (position == null) {
                throw new IllegalArgumentException("op '" + op.name() + "' (" + op.def().type() + ") is placed on device "
                        + device + " but the plan has " + devices.size() + " devices " + devices
                        + "; place it on one of them");
            }
            opDevices[i] = position;
        }
        return opDevices;
    }

    /**
     * A reshape of a C-order buffer is a view of it, so, like the reference executor, the plan
     * runs no reshape: its consumers read the reshape's input register (or parameter) viewed in
     * the reshape's shape. Kept as actors: reshapes to a scalar (the loss may be one) and
     * reshapes of or into an activation that some op writes to.
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
            // A view of a parameter is ordered like the parameter itself (see PersistentAccessOrder).
            if (out.shape().rank() > 0 && !written.contains(out)
                    && (persistent || !written.contains(in)) && !out.equals(graph.loss())) {
                views.put(out, views.getOrDefault(op.input(0), op.input(0)));
            }
        }
    }

    private boolean folded(Op op) {
        return !op.outputs().isEmpty() && views.containsKey(op.output(0));
    }

    private int operand(ActorDraft actor, Tensor input, Map<Tensor, Integer> sources) {
        if (input.equals(graph.learningRate())) {
            return ActorDraft.LEARNING_RATE;
        }
        if (input.equals(graph.optimizerStep())) {
            return ActorDraft.OPTIMIZER_STEP;
        }
        if (input.kind() == TensorKind.PARAMETER || input.kind() == TensorKind.STATE) {
            return ActorDraft.PERSISTENT;
        }
        if (sources.containsKey(input)) {
            return connect(actor, sources.get(input), 0);
        }
        int[] from = producer(input);
        return connect(actor, from[0], from[1]);
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
    private int connect(ActorDraft consumer, int producer, int output) {
        int from = actors.get(producer).device == consumer.device ? producer
                : transfer(producer, output, consumer.device);
        return consumer.inputFrom(from, from == producer ? output : 0);
    }

    private int transfer(int producer, int output, int device) {
        ActorDraft from = actors.get(producer);
        Map<Integer, Integer> byDevice = from.transfers.computeIfAbsent(output, k -> new HashMap<>());
        Integer existing = byDevice.get(device);
        if (existing != null) {
            return existing;
        }
        Tensor moved = from.outputTensors.get(output);
        String what = moved == null ? "token:" + from.name : "transfer:" + moved.name();
        ActorDraft transfer = add(what + "@" + devices.get(device), "Transfer", device, null, ActorKind.TRANSFER, null,
                null, null);
        transfer.inputs.add(new int[] {producer, output});
        int quota = from.kind == ActorKind.SOURCE ? options.sourceQuota() : options.registerQuota();
        transfer.output(moved == null ? quota : options.quotaOf(moved.name(), quota), moved);
        byDevice.put(device, transfer.id);
        return transfer.id;
    }

    /** {@code later} acts for each micro-batch only after {@code earlier} did. */
    private void order(ActorDraft earlier, ActorDraft later) {
        if (earlier != later) {
            later.after.add(earlier.device == later.device ? earlier.id : token(earlier, later.device));
        }
    }

    /** {@code later} acts in iteration t+1 only after {@code earlier} finished iteration t. */
    private void orderAcrossIterations(ActorDraft earlier, ActorDraft later) {
        if (earlier != later) {
            later.afterPreviousIteration.add(earlier.device == later.device ? earlier.id
                    : token(earlier, later.device));
        }
    }

    /** A transfer on {@code device} that acts for each micro-batch right after {@code actor} did. */
    private int token(ActorDraft actor, int device) {
        if (actor.tokenOutput < 0) {
            actor.tokenOutput = actor.quotas.size();
            actor.output(options.registerQuota(), null);
        }
        return transfer(actor.id, actor.tokenOutput, device);
    }

    private ActorDraft add(String name, String opType, int device, Phase phase, ActorKind kind, Op op, Tensor tensor,
                           SinkRole role) {
        ActorDraft actor = new ActorDraft(actors.size(), name, opType, device, phase, kind, op, tensor, role);
        actors.add(actor);
        return actor;
    }
}
