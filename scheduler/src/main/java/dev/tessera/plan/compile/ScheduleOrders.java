package dev.tessera.plan.compile;

import dev.tessera.plan.schedule.Action;
import dev.tessera.plan.schedule.PipelineSchedule;
import dev.tessera.plan.schedule.ScheduleValidator;
import dev.tessera.proto.graph.Phase;
import dev.tessera.proto.plan.ActionProto;
import dev.tessera.proto.plan.ActorKind;
import dev.tessera.proto.plan.ActorProto;
import dev.tessera.proto.plan.DeviceActionOrder;
import dev.tessera.proto.plan.InputEdge;
import dev.tessera.proto.plan.Operand;
import dev.tessera.proto.plan.PlanProto;
import dev.tessera.proto.plan.SinkRole;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * Turns a pipeline schedule into a compiled plan's per-device action orders. Stage s of the
 * schedule runs on the plan's device {@code schedule.deviceOf(s)}: all of that device's F, B and W
 * actors when it runs one stage, those of the ops given stage s when it runs several (interleaved
 * 1F1B, ZB-V). Each action of a device's list is a slot of its order:
 *
 * <ul>
 *   <li>{@code sFj} holds stage s's forward actors (phase F) for micro-batch j, {@code sBj} its
 *       input-gradient actors (phase B), {@code sWj} its weight-gradient actors (phase W, collective
 *       members among them), {@code sBWj} both, B before W;</li>
 *   <li>the update actors (phase U) and the gradient-norm sinks act after the last slot, for
 *       micro-batch 0, then 1, ... (they work only at the last);</li>
 *   <li>an F, B or W actor that reads only parameters or optimizer state (a weight cut or copied
 *       for another stage, as a weight tied across stages is) joins the first slot of its
 *       micro-batch on its device: nothing of the iteration precedes it, and a peer stage waiting
 *       for it must not wait for a later slot here;</li>
 *   <li>an actor without a phase (source, transfer, sink) joins the slot of its earliest consumer
 *       or control successor on its device, right before it; one with none there (a sink, a
 *       transfer only ordering others) joins the slot of its latest producer on the device.</li>
 * </ul>
 *
 * Within a slot actors follow their data and control edges, B before W, lowest id first. The
 * members of a gradient bucket ({@code CollectiveGroup.bucket}) move the order on when they start
 * ({@code ActionProto.moves_on_at_start}): a member completes only once every member of its bucket
 * arrived, so the later members must get their turn while the first waits. The actors of the slot
 * that read a member's output come after the bucket's last member there, so no action between a
 * bucket's first and last member waits for the bucket. The register quotas are then raised to what the order holds in flight ({@link OrderQuotas}), so
 * that no order waits for a register the order itself keeps busy. Communication actions and
 * optimizer steps of the schedule are implied by the plan's transfers and update actors and are
 * skipped.
 */
public final class ScheduleOrders {
    private ScheduleOrders() {
    }

    /**
     * The plan with one action order per device that has actors, and the quotas they need.
     *
     * @throws IllegalArgumentException when the schedule is invalid or does not match the plan's
     *     layout (another number of devices or micro-batches, several stages per device, stages
     *     numbered against the direction of the forward pass), or the orders cannot run
     */
    public static PlanProto apply(PlanProto plan, PipelineSchedule schedule) {
        return apply(plan, schedule, Map.of());
    }

    /**
     * The same for a schedule that may run several stages on one device (interleaved 1F1B, ZB-V):
     * {@code stageOfOp} gives the stage of every F, B and W op by name (the op its actor runs);
     * on a device with one stage it may be left out.
     *
     * @throws IllegalArgumentException also when an op on a device with several stages has no
     *     stage, or its stage runs on another device
     */
    public static PlanProto apply(PlanProto plan, PipelineSchedule schedule, Map<String, Integer> stageOfOp) {
        ScheduleValidator.requireValid(schedule);
        requireMatches(plan, schedule);
        int[] scheduleDevices = scheduleDevices(plan, schedule, stageOfOp);
        int[] stages = stages(plan, schedule, stageOfOp, scheduleDevices);
        requireForwardDirection(plan, stages);
        List<DeviceActionOrder> orders = new ArrayList<>();
        for (int device = 0; device < plan.getDevicesCount(); device++) {
            if (scheduleDevices[device] < 0) {
                continue;
            }
            DeviceActionOrder order = order(plan, schedule, device, scheduleDevices[device], stages);
            if (order.getActionsCount() > 0) {
                orders.add(order);
            }
        }
        return OrderQuotas.raise(plan.toBuilder().clearActionOrders().addAllActionOrders(orders).build());
    }

    private static void requireMatches(PlanProto plan, PipelineSchedule schedule) {
        String name = "the pipeline schedule (parallel.schedule)";
        if (schedule.microBatches() != plan.getMicroBatches()) {
            throw new IllegalArgumentException(name + " runs " + schedule.microBatches() + " micro-batches but the "
                    + "plan trains " + plan.getMicroBatches() + " (train.micro_batches); build the schedule for "
                    + plan.getMicroBatches());
        }
        for (int device = 0; device < schedule.devices(); device++) {
            requireIncreasingMicroBatches(schedule, device);
        }
    }

    /**
     * The schedule device each plan device follows: itself when no op has a stage (the plan has
     * one device per schedule device); else the schedule device of the stages of its ops, so that
     * the devices of a data- or tensor-parallel stage all follow that stage's list. -1 for a
     * device without F, B or W ops of a stage.
     */
    private static int[] scheduleDevices(PlanProto plan, PipelineSchedule schedule, Map<String, Integer> stageOfOp) {
        int[] out = new int[plan.getDevicesCount()];
        if (stageOfOp.isEmpty()) {
            if (schedule.devices() != plan.getDevicesCount()) {
                throw new IllegalArgumentException("the pipeline schedule (parallel.schedule) runs on "
                        + schedule.devices() + " devices but the plan has " + plan.getDevicesCount() + "; give each "
                        + "op's stage (PlanOptions.withSchedule(schedule, stageOfOp)) to run data or tensor "
                        + "parallel stages, or build the schedule for parallel.pipeline = " + plan.getDevicesCount());
            }
            for (int d = 0; d < out.length; d++) {
                out[d] = d;
            }
            return out;
        }
        java.util.Arrays.fill(out, -1);
        for (ActorProto actor : plan.getActorsList()) {
            Integer stage = isScheduled(actor.getPhase()) ? stageOfOp.get(actor.getCompute().getGraphOp()) : null;
            if (stage == null) {
                continue;
            }
            if (stage < 0 || stage >= schedule.stages()) {
                throw new IllegalArgumentException("op '" + actor.getCompute().getGraphOp() + "' is given stage " + stage
                        + " but the pipeline schedule has stages 0.." + (schedule.stages() - 1));
            }
            int device = actor.getDevice();
            int follows = schedule.deviceOf(stage);
            if (out[device] >= 0 && out[device] != follows) {
                throw new IllegalArgumentException("device " + device(plan, device) + " runs ops of stages that the "
                        + "pipeline schedule puts on its devices " + out[device] + " and " + follows + " (op '"
                        + actor.getCompute().getGraphOp() + "', stage " + stage + "); put the stages of one "
                        + "schedule device on the same plan devices");
            }
            out[device] = follows;
        }
        return out;
    }

    /** The schedule stage of each F, B and W actor; -1 for the others. */
    private static int[] stages(PlanProto plan, PipelineSchedule schedule, Map<String, Integer> stageOfOp,
                                int[] scheduleDevices) {
        int[] stages = new int[plan.getActorsCount()];
        for (ActorProto actor : plan.getActorsList()) {
            stages[actor.getId()] = -1;
            if (!isScheduled(actor.getPhase())) {
                continue;
            }
            int follows = scheduleDevices[actor.getDevice()];
            if (follows < 0) {
                throw new IllegalArgumentException("op '" + actor.getCompute().getGraphOp() + "' on device "
                        + device(plan, actor.getDevice()) + " has no stage, nor has any op of its device; give "
                        + "each op's stage");
            }
            List<Integer> onDevice = schedule.stagesOf(follows);
            Integer stage = stageOfOp.get(actor.getCompute().getGraphOp());
            if (stage == null && onDevice.size() == 1) {
                stage = onDevice.get(0);
            }
            if (stage == null) {
                throw new IllegalArgumentException("the pipeline schedule runs stages " + onDevice + " on device "
                        + device(plan, actor.getDevice()) + " but op '" + actor.getCompute().getGraphOp()
                        + "' has no stage; a schedule with several stages per device (interleaved-1f1b, zb-v) needs "
                        + "the stage of every op there (PlanOptions.withSchedule(schedule, stageOfOp))");
            }
            if (stage < 0 || stage >= schedule.stages() || schedule.deviceOf(stage) != follows) {
                throw new IllegalArgumentException("op '" + actor.getCompute().getGraphOp() + "' runs on device "
                        + device(plan, actor.getDevice()) + " but is given stage " + stage + ", which the pipeline "
                        + "schedule runs on " + (stage < 0 || stage >= schedule.stages() ? "no device (it has stages 0.."
                        + (schedule.stages() - 1) + ")" : "device " + schedule.deviceOf(stage))
                        + "; put each stage's ops on the device the schedule gives it");
            }
            stages[actor.getId()] = stage;
        }
        return stages;
    }

    /** Every forward edge, direct or through a transfer, goes from a stage to the same or a later one. */
    private static void requireForwardDirection(PlanProto plan, int[] stages) {
        for (ActorProto consumer : plan.getActorsList()) {
            if (consumer.getPhase() != Phase.FORWARD) {
                continue;
            }
            for (InputEdge input : consumer.getInputsList()) {
                ActorProto producer = plan.getActors(input.getProducer());
                if (producer.getKind() == ActorKind.TRANSFER) {
                    producer = plan.getActors(producer.getInputs(0).getProducer());
                }
                if (producer.getPhase() == Phase.FORWARD && stages[producer.getId()] > stages[consumer.getId()]) {
                    throw new IllegalArgumentException("the pipeline schedule (parallel.schedule) numbers its stages "
                            + "against the forward pass: '" + producer.getName() + "' on device "
                            + device(plan, producer.getDevice()) + " (stage " + stages[producer.getId()] + ") feeds '"
                            + consumer.getName() + "' on device " + device(plan, consumer.getDevice()) + " (stage "
                            + stages[consumer.getId()] + "); put stage s on the layout's stage s");
                }
            }
        }
    }

    private static boolean isScheduled(Phase phase) {
        return phase == Phase.FORWARD || phase == Phase.BACKWARD_INPUT || phase == Phase.BACKWARD_WEIGHT;
    }

    /** The runtime runs each actor's micro-batches in increasing order, so each stage's F, B and W must too. */
    private static void requireIncreasingMicroBatches(PipelineSchedule schedule, int device) {
        Map<String, Action> previous = new HashMap<>();
        for (Action action : schedule.computeActions(device)) {
            List<Phase> phases = switch (action.kind()) {
                case FORWARD -> List.of(Phase.FORWARD);
                case BACKWARD_INPUT -> List.of(Phase.BACKWARD_INPUT);
                case BACKWARD_WEIGHT -> List.of(Phase.BACKWARD_WEIGHT);
                default -> List.of(Phase.BACKWARD_INPUT, Phase.BACKWARD_WEIGHT);
            };
            for (Phase phase : phases) {
                Action before = previous.put(phase + "/" + action.stage(), action);
                if (before != null && before.microBatch() > action.microBatch()) {
                    throw new IllegalArgumentException("the pipeline schedule runs " + before + " before " + action
                            + " on device " + device + "; each op of a stage runs its micro-batches in increasing "
                            + "order, so list the " + phase.name().toLowerCase(java.util.Locale.ROOT)
                            + " actions of stage " + action.stage() + " by micro-batch");
                }
            }
        }
    }

    private static String device(PlanProto plan, int device) {
        return plan.getDevices(device).getNode() + ":" + plan.getDevices(device).getDevice();
    }

    private static DeviceActionOrder order(PlanProto plan, PipelineSchedule schedule, int device, int follows,
                                           int[] stages) {
        List<Action> actions = schedule.computeActions(follows);
        int microBatches = plan.getMicroBatches();
        int end = actions.size();
        Map<String, Integer> slotOf = new HashMap<>();
        for (int slot = 0; slot < actions.size(); slot++) {
            Action action = actions.get(slot);
            switch (action.kind()) {
                case FORWARD -> slotOf.put(key(Phase.FORWARD, action), slot);
                case BACKWARD_INPUT -> slotOf.put(key(Phase.BACKWARD_INPUT, action), slot);
                case BACKWARD_WEIGHT -> slotOf.put(key(Phase.BACKWARD_WEIGHT, action), slot);
                case FULL_BACKWARD -> {
                    slotOf.put(key(Phase.BACKWARD_INPUT, action), slot);
                    slotOf.put(key(Phase.BACKWARD_WEIGHT, action), slot);
                }
                default -> throw new IllegalStateException("not a compute action: " + action);
            }
        }
        Neighbours neighbours = new Neighbours(plan, device);
        Map<Integer, Integer> bucketOf = BucketOrders.bucketOfMember(plan);
        List<List<Integer>> members = new ArrayList<>();
        for (int slot = 0; slot < end; slot++) {
            members.add(new ArrayList<>());
        }
        List<List<Integer>> updates = new ArrayList<>();
        for (int microBatch = 0; microBatch < microBatches; microBatch++) {
            int[] slots = new int[plan.getActorsCount()];
            java.util.Arrays.fill(slots, -1);
            List<Integer> update = new ArrayList<>();
            for (ActorProto actor : plan.getActorsList()) {
                if (actor.getDevice() == device) {
                    int slot = slot(plan, actor.getId(), microBatch, end, slotOf, neighbours, slots, stages);
                    (slot < end ? members.get(slot) : update).add(actor.getId());
                }
            }
            updates.add(update);
        }
        DeviceActionOrder.Builder order = DeviceActionOrder.newBuilder().setDevice(device);
        for (int slot = 0; slot < end; slot++) {
            add(order, inEdgeOrder(plan, members.get(slot), neighbours, bucketOf), actions.get(slot).microBatch(),
                    bucketOf);
        }
        for (int microBatch = 0; microBatch < microBatches; microBatch++) {
            add(order, inEdgeOrder(plan, updates.get(microBatch), neighbours, bucketOf), microBatch, bucketOf);
        }
        BucketOrders.requireBucketsInOneSlot(plan, members, updates, bucketOf, actions);
        return order.build();
    }

    private static void add(DeviceActionOrder.Builder order, List<Integer> actors, int microBatch,
                            Map<Integer, Integer> bucketOf) {
        for (int actor : actors) {
            order.addActions(ActionProto.newBuilder().setActor(actor).setMicroBatch(microBatch)
                    .setMovesOnAtStart(bucketOf.containsKey(actor)));
        }
    }

    /** The slot of {@code actor} for {@code microBatch}: an index of the device's compute actions, or {@code end}. */
    private static int slot(PlanProto plan, int actor, int microBatch, int end, Map<String, Integer> slotOf,
                            Neighbours neighbours, int[] slots, int[] stages) {
        if (slots[actor] >= 0) {
            return slots[actor];
        }
        ActorProto spec = plan.getActors(actor);
        int slot;
        switch (spec.getPhase()) {
            case FORWARD, BACKWARD_INPUT, BACKWARD_WEIGHT -> {
                if (spec.getInputsCount() == 0 && spec.getControlPredecessorsCount() == 0
                        && spec.getCompute().getOperandsList().stream().anyMatch(Operand::getPersistent)) {
                    // reads only parameters or state (e.g. a weight cut or copied for another
                    // stage): nothing of this iteration comes before it, so it goes with the
                    // micro-batch's first action, and a peer never waits for a later slot of ours
                    slots[actor] = firstSlotOf(slotOf, microBatch);
                    return slots[actor];
                }
                Integer scheduled = slotOf.get(key(spec.getPhase(), stages[actor], microBatch));
                if (scheduled == null) {
                    throw new IllegalStateException("the schedule has no " + spec.getPhase() + " action for micro-batch "
                            + microBatch + " of stage " + stages[actor] + ", the stage of '" + spec.getName() + "'");
                }
                slot = scheduled;
            }
            case UPDATE -> slot = end;
            default -> {
                if (spec.getKind() == ActorKind.SINK && spec.getSink().getRole() != SinkRole.LOSS) {
                    // a gradient-norm sink checks an iteration's norm: it acts with the update actors
                    slots[actor] = end;
                    return end;
                }
                slot = Integer.MAX_VALUE;
                for (int successor : neighbours.successors.get(actor)) {
                    slot = Math.min(slot, slot(plan, successor, microBatch, end, slotOf, neighbours, slots, stages));
                }
                if (slot == Integer.MAX_VALUE) {
                    slot = -1;
                    for (int predecessor : neighbours.predecessors.get(actor)) {
                        slot = Math.max(slot, slot(plan, predecessor, microBatch, end, slotOf, neighbours, slots,
                                stages));
                    }
                }
                if (slot < 0) {
                    slot = firstSlotOf(slotOf, microBatch);
                }
            }
        }
        slots[actor] = slot;
        return slot;
    }

    /** The first slot of {@code microBatch}'s forward on the device (any of its stages). */
    private static int firstSlotOf(Map<String, Integer> slotOf, int microBatch) {
        int first = Integer.MAX_VALUE;
        for (Map.Entry<String, Integer> entry : slotOf.entrySet()) {
            if (entry.getKey().startsWith(Phase.FORWARD + "/") && entry.getKey().endsWith("/" + microBatch)) {
                first = Math.min(first, entry.getValue());
            }
        }
        return first == Integer.MAX_VALUE ? 0 : first;
    }

    private static String key(Phase phase, Action action) {
        return key(phase, action.stage(), action.microBatch());
    }

    private static String key(Phase phase, int stage, int microBatch) {
        return phase + "/" + stage + "/" + microBatch;
    }

    /**
     * The members, each after its producers and control predecessors among them, and a reader of a
     * gradient bucket member's output after every member of that bucket among them; B before W,
     * then lowest id.
     */
    private static List<Integer> inEdgeOrder(PlanProto plan, List<Integer> members, Neighbours neighbours,
                                             Map<Integer, Integer> bucketOf) {
        Map<Integer, List<Integer>> predecessors = new HashMap<>();
        Map<Integer, List<Integer>> successors = new HashMap<>();
        Map<Integer, List<Integer>> bucketMembers = new HashMap<>();
        for (int member : members) {
            predecessors.put(member, new ArrayList<>());
            successors.put(member, new ArrayList<>());
            if (bucketOf.containsKey(member)) {
                bucketMembers.computeIfAbsent(bucketOf.get(member), b -> new ArrayList<>()).add(member);
            }
        }
        for (int member : members) {
            for (int predecessor : neighbours.predecessors.get(member)) {
                if (predecessors.containsKey(predecessor)) {
                    List<Integer> before = bucketOf.containsKey(predecessor)
                            && !bucketOf.get(predecessor).equals(bucketOf.get(member))
                            ? bucketMembers.get(bucketOf.get(predecessor)) : List.of(predecessor);
                    for (int first : before) {
                        if (!predecessors.get(member).contains(first)) {
                            predecessors.get(member).add(first);
                            successors.get(first).add(member);
                        }
                    }
                }
            }
        }
        Map<Integer, Integer> waiting = new HashMap<>();
        members.forEach(member -> waiting.put(member, predecessors.get(member).size()));
        PriorityQueue<Integer> ready = new PriorityQueue<>((a, b) -> {
            int byPhase = Boolean.compare(isWeight(plan, a), isWeight(plan, b));
            if (byPhase != 0) {
                return byPhase;
            }
            int byDepth = Integer.compare(neighbours.depth[a], neighbours.depth[b]);
            return byDepth != 0 ? byDepth : Integer.compare(a, b);
        });
        members.stream().filter(member -> waiting.get(member) == 0).forEach(ready::add);
        List<Integer> order = new ArrayList<>();
        while (!ready.isEmpty()) {
            int next = ready.poll();
            order.add(next);
            for (int successor : successors.get(next)) {
                if (waiting.merge(successor, -1, Integer::sum) == 0) {
                    ready.add(successor);
                }
            }
        }
        if (order.size() != members.size()) {
            throw new IllegalStateException("the data and control edges between " + members + " form a cycle");
        }
        return order;
    }

    private static boolean isWeight(PlanProto plan, int actor) {
        return plan.getActors(actor).getPhase() == Phase.BACKWARD_WEIGHT;
    }

    /**
     * Per actor, its producers and control predecessors, and its consumers and control successors,
     * on one device; and its depth in the whole plan, the longest chain of data and control edges
     * (across devices) that ends at it.
     */
    private static final class Neighbours {
        final List<List<Integer>> predecessors = new ArrayList<>();
        final List<List<Integer>> successors = new ArrayList<>();
        /**
         * Ties within a slot go to the shallower actor, on every device alike: a data edge always
         * deepens, so no two devices can each wait for the other within a slot (e.g. the update
         * actors of one micro-batch, some feeding the other device's).
         */
        final int[] depth;

        Neighbours(PlanProto plan, int device) {
            depth = new int[plan.getActorsCount()];
            java.util.Arrays.fill(depth, -1);
            for (ActorProto actor : plan.getActorsList()) {
                depth(plan, actor.getId());
            }
            plan.getActorsList().forEach(actor -> {
                predecessors.add(new ArrayList<>());
                successors.add(new ArrayList<>());
            });
            for (ActorProto actor : plan.getActorsList()) {
                if (actor.getDevice() != device) {
                    continue;
                }
                List<Integer> before = new ArrayList<>(actor.getControlPredecessorsList());
                actor.getInputsList().forEach(input -> before.add(input.getProducer()));
                for (int predecessor : before) {
                    if (plan.getActors(predecessor).getDevice() == device
                            && !predecessors.get(actor.getId()).contains(predecessor)) {
                        predecessors.get(actor.getId()).add(predecessor);
                        successors.get(predecessor).add(actor.getId());
                    }
                }
            }
        }

        private int depth(PlanProto plan, int actor) {
            if (depth[actor] < 0) {
                ActorProto spec = plan.getActors(actor);
                int deepest = 0;
                for (InputEdge input : spec.getInputsList()) {
                    deepest = Math.max(deepest, 1 + depth(plan, input.getProducer()));
                }
                for (int predecessor : spec.getControlPredecessorsList()) {
                    deepest = Math.max(deepest, 1 + depth(plan, predecessor));
                }
                depth[actor] = deepest;
            }
            return depth[actor];
        }
    }
}
