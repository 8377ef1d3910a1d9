package dev.tessera.worker.actors;

import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.collective.GroupCollective;
import dev.tessera.graph.Op;
import dev.tessera.graph.Phase;
import dev.tessera.graph.Shape;
import dev.tessera.graph.Tensor;
import dev.tessera.graph.TensorKind;
import dev.tessera.proto.plan.ActionProto;
import dev.tessera.proto.plan.ActorProto;
import dev.tessera.proto.plan.CollectiveGroup;
import dev.tessera.proto.plan.ComputeProto;
import dev.tessera.proto.plan.DeviceActionOrder;
import dev.tessera.proto.plan.DeviceProto;
import dev.tessera.proto.plan.InputEdge;
import dev.tessera.proto.plan.Operand;
import dev.tessera.proto.plan.OutputProto;
import dev.tessera.proto.plan.PlanFragment;
import dev.tessera.proto.plan.PlanProto;
import dev.tessera.plan.fragment.FragmentValidator;
import dev.tessera.plan.fragment.PlanFragments;
import dev.tessera.plan.fragment.ProcessIdentity;
import dev.tessera.proto.plan.SinkRole;
import dev.tessera.runtime.ActorAction;
import dev.tessera.runtime.plan.ActorKind;
import dev.tessera.runtime.plan.Device;
import dev.tessera.runtime.plan.OrderedAction;
import dev.tessera.runtime.plan.Plan;
import dev.tessera.runtime.plan.PlanBuilder;
import dev.tessera.runtime.transport.Communicator;
import dev.tessera.runtime.transport.SentBytes;
import dev.tessera.runtime.transport.Transport;
import dev.tessera.runtime.transport.ElementType;
import dev.tessera.runtime.transport.TransportCommunicator;
import dev.tessera.sbp.SbpText;
import dev.tessera.sbp.boxing.Conversion;
import dev.tessera.sbp.boxing.GroupParts;
import dev.tessera.worker.collective.CollectiveSchedule;
import dev.tessera.worker.collective.CollectiveMember;
import dev.tessera.worker.collective.Collectives;
import dev.tessera.worker.collective.GradientBucket;
import dev.tessera.worker.exec.HostTensors;
import dev.tessera.worker.kernel.KernelRegistry;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.IntFunction;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Binds a compiled plan ({@code tessera_plan.proto}, made by the scheduler's plan compiler) to
 * this worker: the runtime's {@link Plan} with the same actors, ids, edges and per-device action
 * orders (a device without one runs its actors as their data arrives), and an action per
 * actor: a kernel found by op type for a compute actor, a schedule over its group's communicator
 * for a collective member, a batch copy for a source, a check for a sink (the runtime supplies
 * transfers). This is the only part of the plan that depends on ND4J.
 */
final class PlanBinding {
    private final TrainingGraph graph;
    private final Map<Tensor, INDArray> persistent;
    private final Set<Tensor> accumulators;
    private final RunState run;
    private final KernelRegistry kernels;
    private final Transport transport;
    private final SentBytes sentBytes;
    private final RegisterPools pools;
    private final Map<String, Op> opsByName = new HashMap<>();
    /** Of the plan being bound: the collective groups of each gradient bucket, in bucket order. */
    private Map<Integer, List<CollectiveGroup>> bucketGroups = Map.of();
    /** Of the plan being bound: each bucket's member on each device, by "bucket@device". */
    private final Map<String, GradientBucket> bucketMembers = new HashMap<>();

    /**
     * A runtime plan and its actions, by actor id (null for transfers).
     *
     * @param compiled the whole compiled plan; null for a process of a multi-process job, which
     *     holds only its fragment
     * @param remote the remote edges' messages; null when the fragment has none
     */
    record Bound(PlanProto compiled, PlanFragment fragment, Plan plan, List<ActorAction> actions, RemoteEdges remote) {
    }

    /**
     * @param persistent parameter and optimizer-state buffers by tensor; buffers the graph's ops
     *     read and that are missing (e.g. gradient accumulators) are allocated here
     */
    PlanBinding(TrainingGraph graph, Map<Tensor, INDArray> persistent, Set<Tensor> accumulators, RunState run,
                KernelRegistry kernels, Transport transport, SentBytes sentBytes, RegisterPools pools) {
        this.graph = graph;
        this.persistent = persistent;
        this.accumulators = accumulators;
        this.run = run;
        this.kernels = kernels;
        this.transport = transport;
        this.sentBytes = sentBytes;
        this.pools = pools;
        graph.ops().forEach(op -> opsByName.put(op.name(), op));
    }

    /**
     * Binds the fragment of the plan this process runs, checked first ({@link FragmentValidator}):
     * of this process's job and plan version, naming only its devices, every edge that leaves the
     * process matched. Nothing is bound, and no actor starts, when a check fails. In one process
     * the fragment holds every device; a fragment of several processes runs its remote edges over
     * this binding's transport ({@link FragmentPlan}), {@code remote} naming their messages.
     *
     * @throws dev.tessera.plan.fragment.InvalidFragmentException listing every problem of the fragment
     * @throws IllegalArgumentException when the plan names an op or tensor the training graph
     *     does not have (it was compiled from another graph), or is not a valid runtime plan
     *     (an {@code InvalidPlanException} listing every problem, those of the action orders too)
     */
    Bound bind(PlanFragment fragment, ProcessIdentity self, RemoteEdges remote) {
        FragmentValidator.requireValid(fragment, self);
        if (fragment.getProcesses() == 1) {
            PlanProto compiled = PlanFragments.join(List.of(fragment));
            Bound whole = bind(compiled);
            return new Bound(compiled, fragment, whole.plan(), whole.actions(), null);
        }
        for (CollectiveGroup group : fragment.getCollectiveGroupsList()) {
            if (group.getGroupId() == RemoteEdges.GROUP) {
                throw new IllegalArgumentException("collective group '" + group.getName() + "' has group id "
                        + RemoteEdges.GROUP + ", which the remote edges' messages use; compile the plan again");
            }
        }
        FragmentPlan local = FragmentPlan.of(fragment);
        Plan plan = local.plan();
        Map<Integer, CollectiveGroup> groups = new HashMap<>();
        for (CollectiveGroup group : fragment.getCollectiveGroupsList()) {
            group.getMembersList().forEach(member -> groups.put(member, group));
        }
        startBuckets(fragment.getCollectiveGroupsList());
        List<ActorAction> actions = new ArrayList<>();
        for (FragmentPlan.LocalActor entry : local.actors()) {
            ActorProto actor = entry.actor();
            switch (entry.role()) {
                case PLAN -> actions.add(action(actor, groups,
                        member -> plan.devices().get(local.deviceOf(member))));
                case RECEIVE -> actions.add(new RemoteReceiveAction(actor.getName(),
                        payloadType(actor, entry.edge().getProducerOutput()), transport,
                        plan.devices().get(entry.edge().getProducerDevice()),
                        plan.devices().get(entry.edge().getConsumerDevice()), entry.edge().getId(), remote, run));
                case SEND -> actions.add(new RemoteSendAction("send:" + actor.getName(),
                        payloadType(actor, entry.edge().getProducerOutput()), transport,
                        plan.devices().get(entry.edge().getProducerDevice()),
                        plan.devices().get(entry.edge().getConsumerDevice()), entry.edge().getId(), remote, run,
                        sentBytes));
            }
        }
        return new Bound(null, fragment, plan, actions, remote);
    }

    /** The type of what a remote edge carries: the producer output's tensor, or null for an ordering token. */
    private dev.tessera.graph.TensorType payloadType(ActorProto actor, OutputProto output) {
        return output.getTensor().isEmpty() ? null : tensor(actor, output.getTensor()).type();
    }

    private Bound bind(PlanProto compiled) {
        PlanBuilder builder = new PlanBuilder();
        for (DeviceProto device : compiled.getDevicesList()) {
            builder.device(device.getNode() + ":" + device.getDevice());
        }
        for (ActorProto actor : compiled.getActorsList()) {
            PlanBuilder.ActorBuilder spec = builder.actor(actor.getName(), actor.getOp(), actor.getDevice())
                    .kind(ActorKind.valueOf(actor.getKind().name()));
            if (actor.getPhase() != dev.tessera.proto.graph.Phase.PHASE_UNSPECIFIED) {
                spec.phase(Phase.valueOf(actor.getPhase().name()));
            }
            for (InputEdge input : actor.getInputsList()) {
                spec.input(input.getProducer(), input.getOutput());
            }
            for (OutputProto output : actor.getOutputsList()) {
                spec.output(output.getQuota(), output.getBytes());
            }
            actor.getControlPredecessorsList().forEach(spec::after);
            actor.getIterationPredecessorsList().forEach(spec::afterPreviousIteration);
            spec.add();
        }
        for (DeviceActionOrder order : compiled.getActionOrdersList()) {
            List<OrderedAction> actionsInOrder = new ArrayList<>(order.getActionsCount());
            for (ActionProto action : order.getActionsList()) {
                actionsInOrder.add(new OrderedAction(action.getActor(), action.getMicroBatch(), action.getMovesOnAtStart()));
            }
            builder.order(order.getDevice(), actionsInOrder);
        }
        Plan plan = builder.build();
        Map<Integer, CollectiveGroup> groups = new HashMap<>();
        for (CollectiveGroup group : compiled.getCollectiveGroupsList()) {
            group.getMembersList().forEach(member -> groups.put(member, group));
        }
        startBuckets(compiled.getCollectiveGroupsList());
        List<ActorAction> actions = new ArrayList<>();
        for (ActorProto actor : compiled.getActorsList()) {
            actions.add(action(actor, groups, member -> plan.deviceOf(plan.actor(member))));
        }
        return new Bound(compiled, null, plan, actions, null);
    }

    /** Collects the groups of each gradient bucket of the plan being bound; no bucket member exists yet. */
    private void startBuckets(List<CollectiveGroup> groups) {
        Map<Integer, List<CollectiveGroup>> buckets = new HashMap<>();
        groups.stream().filter(g -> g.getBucket() != 0).sorted(java.util.Comparator.comparingInt(CollectiveGroup::getIndex))
                .forEach(g -> buckets.computeIfAbsent(g.getBucket(), b -> new ArrayList<>()).add(g));
        bucketGroups = buckets;
        bucketMembers.clear();
    }

    /**
     * This device's member of the bucket {@code group} belongs to, made when its first gradient is
     * bound: over a communicator of the bucket's first group id and devices.
     */
    private GradientBucket bucketMember(CollectiveGroup group, int rank, List<Device> devices, ElementType type,
            int chunkElements) {
        List<CollectiveGroup> bucket = bucketGroups.get(group.getBucket());
        CollectiveGroup first = bucket.get(0);
        for (CollectiveGroup g : bucket) {
            if (!(g.getConversion().equals("ALL_REDUCE") || g.getConversion().equals("REDUCE_SCATTER"))
                    || !g.getConversion().equals(first.getConversion()) || g.getMembersCount() != first.getMembersCount()
                    || g.getDtype() != first.getDtype() || g.getChunkBytes() != first.getChunkBytes()) {
                throw new IllegalArgumentException("gradient bucket " + group.getBucket() + " mixes collective '"
                        + g.getName() + "' with '" + first.getName() + "': a bucket holds ring all-reduces or ring "
                        + "reduce-scatters of one dtype over the same members; compile the plan again");
            }
        }
        return bucketMembers.computeIfAbsent(group.getBucket() + "@" + devices.get(rank).name(), key -> {
            Communicator communicator = new TransportCommunicator(transport, first.getGroupId(), devices, rank,
                    sentBytes);
            String name = "bucket " + group.getBucket() + " (" + first.getName() + ", ...)";
            if (first.getConversion().equals("REDUCE_SCATTER")) {
                List<GroupParts> parts = new ArrayList<>();
                bucket.forEach(g -> parts.add(parts(g)));
                return GradientBucket.reduceScatter(name, parts, type, communicator, chunkElements,
                        CollectiveMember.DEFAULT_WINDOW);
            }
            long[] elements = new long[bucket.size()];
            for (int j = 0; j < elements.length; j++) {
                elements[j] = bucket.get(j).getShapeList().stream().mapToLong(Long::longValue).reduce(1, (a, b) -> a * b);
            }
            return new GradientBucket(name, elements, type, communicator, chunkElements, CollectiveMember.DEFAULT_WINDOW);
        });
    }

    /** @param deviceOfMember the device of a collective member, by plan actor id */
    private ActorAction action(ActorProto actor, Map<Integer, CollectiveGroup> groups,
                               IntFunction<Device> deviceOfMember) {
        return switch (actor.getKind()) {
            case COMPUTE -> compute(actor, actor.getCompute());
            case COLLECTIVE -> collective(actor, deviceOfMember, groups.get(actor.getId()));
            case SOURCE -> new SourceAction(tensor(actor, actor.getSource().getTensor()), run);
            case SINK -> actor.getSink().getRole() == SinkRole.LOSS
                    ? SinkAction.loss(graph.loss().name(), graph.loss().producer().name(), run)
                    : SinkAction.gradientNorm(graph.gradNorm().name(), graph.gradNorm().producer().name(),
                            actor.getSink().getRole() == SinkRole.GRADIENT_NORM, run);
            case TRANSFER -> null;
            default -> throw new IllegalArgumentException("actor '" + actor.getName() + "' has kind "
                    + actor.getKind() + "; a plan's actors are COMPUTE, COLLECTIVE, SOURCE, SINK or TRANSFER");
        };
    }

    /**
     * A collective member: its schedule built from the plan's group (so every worker builds the
     * same one), checked against the graph's op it stands for, over a communicator of its group.
     */
    private CollectiveAction collective(ActorProto actor, IntFunction<Device> deviceOfMember, CollectiveGroup group) {
        if (group == null) {
            throw new IllegalArgumentException("actor '" + actor.getName() + "' is a COLLECTIVE member of no "
                    + "collective group; compile the plan again");
        }
        Op op = op(actor, actor.getCompute());
        int rank = group.getMembersList().indexOf(actor.getId());
        long[] shape = group.getShapeList().stream().mapToLong(Long::longValue).toArray();
        GroupParts parts = parts(group);
        if (!(op.def() instanceof GroupCollective def) || !def.parts().equals(parts) || def.member() != rank
                || def.algorithm() != algorithm(group)) {
            throw new IllegalArgumentException("collective group '" + group.getName() + "' of the plan (" + parts
                    .conversion() + " " + group.getFromSbp() + " -> " + group.getToSbp() + " of " + Shape.of(shape)
                    + ", member " + rank + ", " + group.getAlgorithm() + ") is not what op '" + op.name() + "' ("
                    + op.def() + ") does; compile the plan from this graph");
        }
        int elementBytes = op.input(0).dtype().bytes();
        int chunkElements = group.getChunkBytes() == 0 ? Integer.MAX_VALUE
                : (int) Math.max(1, Math.min(Integer.MAX_VALUE, group.getChunkBytes() / elementBytes));
        CollectiveSchedule schedule = Collectives.conversion(parts, def.algorithm(), rank, chunkElements);
        List<Device> devices = new ArrayList<>(group.getMembersCount());
        for (int member : group.getMembersList()) {
            devices.add(deviceOfMember.apply(member));
        }
        Communicator communicator = new TransportCommunicator(transport, group.getGroupId(), devices, rank,
                sentBytes);
        Operand operand = actor.getCompute().getOperands(0);
        INDArray held = null;
        int slot = OpAction.PERSISTENT;
        if (operand.getSourceCase() == Operand.SourceCase.REGISTER_INPUT) {
            slot = operand.getRegisterInput();
        } else if (operand.getSourceCase() == Operand.SourceCase.PERSISTENT) {
            Tensor read = tensor(actor, operand.getTensor());
            held = persistent.computeIfAbsent(read, t -> HostTensors.allocate(t.type()));
        } else {
            throw new IllegalArgumentException("collective '" + actor.getName() + "' reads its part from "
                    + operand.getSourceCase() + "; a member reads a register or a persistent buffer");
        }
        if (group.getBucket() != 0) {
            GradientBucket bucket = bucketMember(group, rank, devices, CollectiveAction.elementType(op.input(0).dtype()),
                    chunkElements);
            return new CollectiveAction(op, slot, held, schedule, communicator, run, bucket,
                    bucketGroups.get(group.getBucket()).indexOf(group));
        }
        return new CollectiveAction(op, slot, held, schedule, communicator, run);
    }

    /** The parts of a plan's collective group, as every member builds them. */
    private static GroupParts parts(CollectiveGroup group) {
        long[] shape = group.getShapeList().stream().mapToLong(Long::longValue).toArray();
        return GroupParts.of(Conversion.valueOf(group.getConversion()), SbpText.parse(group.getFromSbp()).get(0),
                SbpText.parse(group.getToSbp()).get(0), Shape.of(shape), group.getMembersCount());
    }

    private static dev.tessera.sbp.boxing.CollectiveAlgorithm algorithm(CollectiveGroup group) {
        return switch (group.getAlgorithm()) {
            case RING -> dev.tessera.sbp.boxing.CollectiveAlgorithm.RING;
            case DIRECT -> dev.tessera.sbp.boxing.CollectiveAlgorithm.DIRECT;
            default -> throw new IllegalArgumentException("collective group '" + group.getName()
                    + "' names no algorithm; compile the plan again");
        };
    }

    /** The graph's op a compute or collective actor runs, checked to take as many operands as the actor feeds it. */
    private Op op(ActorProto actor, ComputeProto compute) {
        Op op = opsByName.get(compute.getGraphOp());
        if (op == null) {
            throw new IllegalArgumentException("actor '" + actor.getName() + "' runs op '" + compute.getGraphOp()
                    + "', which the training graph does not have; compile the plan from this graph");
        }
        if (compute.getOperandsCount() != op.inputs().size()) {
            throw new IllegalArgumentException("actor '" + actor.getName() + "' feeds " + compute.getOperandsCount()
                    + " operands to op '" + op.name() + "' (" + op.def().type() + "), which has "
                    + op.inputs().size() + " inputs; compile the plan from this graph");
        }
        return op;
    }

    private ActorAction compute(ActorProto actor, ComputeProto compute) {
        Op op = op(actor, compute);
        int[] slots = new int[op.inputs().size()];
        Tensor[] reads = new Tensor[slots.length];
        for (int k = 0; k < slots.length; k++) {
            Operand operand = compute.getOperands(k);
            reads[k] = tensor(actor, operand.getTensor());
            slots[k] = switch (operand.getSourceCase()) {
                case REGISTER_INPUT -> operand.getRegisterInput();
                case PERSISTENT -> OpAction.PERSISTENT;
                case LEARNING_RATE -> OpAction.LEARNING_RATE;
                case OPTIMIZER_STEP -> OpAction.OPTIMIZER_STEP;
                case SOURCE_NOT_SET -> throw new IllegalArgumentException("operand " + k + " of actor '"
                        + actor.getName() + "' says nowhere where its value comes from");
            };
        }
        for (Tensor input : op.inputs()) {
            if (input.kind() == TensorKind.PARAMETER || input.kind() == TensorKind.STATE) {
                persistent.computeIfAbsent(input, t -> HostTensors.allocate(t.type()));
            }
        }
        OpAction action = new OpAction(op, slots, reads, kernels.create(op), persistent, accumulators, run,
                pools.on(actor.getDevice()));
        INDArray[] buffers = new INDArray[slots.length];
        for (int k = 0; k < slots.length; k++) {
            buffers[k] = slots[k] == OpAction.PERSISTENT ? persistent.get(reads[k]) : null;
        }
        return run.rollbacks.record(op, buffers, run, action);
    }

    private Tensor tensor(ActorProto actor, String name) {
        Tensor tensor = graph.forward().store().tensor(name);
        if (tensor == null) {
            throw new IllegalArgumentException("actor '" + actor.getName() + "' reads tensor '" + name
                    + "', which the training graph does not have; compile the plan from this graph");
        }
        return tensor;
    }
}
