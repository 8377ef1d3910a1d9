package dev.tessera.worker.actors;

import dev.tessera.graph.Phase;
import dev.tessera.proto.plan.ActionProto;
import dev.tessera.proto.plan.ActorProto;
import dev.tessera.proto.plan.DeviceActionOrder;
import dev.tessera.proto.plan.DeviceProto;
import dev.tessera.proto.plan.InputEdge;
import dev.tessera.proto.plan.MemberDevice;
import dev.tessera.proto.plan.OutputProto;
import dev.tessera.proto.plan.PlanFragment;
import dev.tessera.proto.plan.RemoteEdge;
import dev.tessera.runtime.plan.ActorKind;
import dev.tessera.runtime.plan.OrderedAction;
import dev.tessera.runtime.plan.Plan;
import dev.tessera.runtime.plan.PlanBuilder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The runtime plan of one process of a multi-process job, made from its fragment. The runtime
 * numbers actors densely, so the fragment's actors get local ids in plan-id order; the devices
 * keep their plan indices (every device of the plan is in the local plan, those of other
 * processes without actors), so tensor messages and collective members name devices the same
 * way in every process.
 *
 * <p>Every remote edge ends at a transfer actor (the runtime only lets a transfer read another
 * device). In the consumer's process that transfer becomes a {@link Role#RECEIVE} source, with
 * the transfer's outputs, control edges and place in its device's order. In the producer's
 * process a {@link Role#SEND} sink is added on the producer's device, reading the producer's
 * output, placed right after the producer in its device's order for every micro-batch (after a
 * gradient bucket's member: right after the bucket's last member there, since the send waits for
 * the whole bucket).
 */
final class FragmentPlan {
    /** What a local actor is. */
    enum Role {
        /** An actor of the fragment, bound as in a whole plan. */
        PLAN,
        /** A transfer whose producer is in another process: receives from the transport. */
        RECEIVE,
        /** Added: posts a producer's output on the transport for a consumer in another process. */
        SEND
    }

    /**
     * One actor of the local plan.
     *
     * @param actor the fragment's actor (for PLAN and RECEIVE; the producer for SEND)
     * @param edge the remote edge (RECEIVE and SEND), else null
     */
    record LocalActor(Role role, ActorProto actor, RemoteEdge edge) {
    }

    private final Plan plan;
    private final List<LocalActor> actors;
    private final Map<Integer, Integer> deviceOfActor;

    private FragmentPlan(Plan plan, List<LocalActor> actors, Map<Integer, Integer> deviceOfActor) {
        this.plan = plan;
        this.actors = actors;
        this.deviceOfActor = deviceOfActor;
    }

    /** @param fragment a fragment checked by {@code FragmentValidator} for this process */
    static FragmentPlan of(PlanFragment fragment) {
        if (fragment.getPlanDevicesCount() == 0) {
            throw new IllegalArgumentException("the fragment for process " + fragment.getProcess() + " has no plan "
                    + "device table; cut the plan with PlanFragments.cut of this version");
        }
        Map<Integer, Integer> local = new HashMap<>();
        Map<Integer, List<RemoteEdge>> sendsOf = new java.util.TreeMap<>();
        Map<Integer, Integer> deviceOfActor = new HashMap<>();
        List<LocalActor> actors = new ArrayList<>();
        for (ActorProto actor : fragment.getActorsList()) {
            local.put(actor.getId(), actors.size());
            deviceOfActor.put(actor.getId(), actor.getDevice());
            actors.add(new LocalActor(Role.PLAN, actor, null));
        }
        for (MemberDevice member : fragment.getMemberDevicesList()) {
            deviceOfActor.put(member.getActor(), member.getDevice());
        }
        for (RemoteEdge receive : fragment.getReceivesList()) {
            ActorProto consumer = actors.get(local.get(receive.getConsumer())).actor();
            if (consumer.getKind() != dev.tessera.proto.plan.ActorKind.TRANSFER || consumer.getInputsCount() != 1) {
                throw new IllegalArgumentException("remote edge " + receive.getId() + " ends at '" + consumer.getName()
                        + "' (" + consumer.getKind() + "), not at a transfer with one input; only transfers read "
                        + "another device, so compile the plan again");
            }
            actors.set(local.get(receive.getConsumer()), new LocalActor(Role.RECEIVE, consumer, receive));
        }
        for (RemoteEdge send : fragment.getSendsList()) {
            sendsOf.computeIfAbsent(send.getProducer(), id -> new ArrayList<>()).add(send);
        }
        Map<Integer, List<Integer>> sendActorsOf = new HashMap<>();
        for (Map.Entry<Integer, List<RemoteEdge>> producer : sendsOf.entrySet()) {
            ActorProto actor = actors.get(local.get(producer.getKey())).actor();
            for (RemoteEdge send : producer.getValue()) {
                sendActorsOf.computeIfAbsent(producer.getKey(), id -> new ArrayList<>()).add(actors.size());
                actors.add(new LocalActor(Role.SEND, actor, send));
            }
        }

        PlanBuilder builder = new PlanBuilder();
        for (DeviceProto device : fragment.getPlanDevicesList()) {
            builder.device(device.getNode() + ":" + device.getDevice());
        }
        for (LocalActor entry : actors) {
            ActorProto actor = entry.actor();
            if (entry.role() == Role.SEND) {
                RemoteEdge edge = entry.edge();
                builder.actor("send:" + actor.getName() + "->" + edge.getConsumer(), "RemoteSend", actor.getDevice())
                        .kind(ActorKind.SINK).input(local.get(edge.getProducer()), edge.getOutput()).add();
                continue;
            }
            boolean receive = entry.role() == Role.RECEIVE;
            PlanBuilder.ActorBuilder spec = builder.actor(actor.getName(), receive ? "RemoteReceive" : actor.getOp(),
                    actor.getDevice()).kind(receive ? ActorKind.SOURCE : ActorKind.valueOf(actor.getKind().name()));
            if (actor.getPhase() != dev.tessera.proto.graph.Phase.PHASE_UNSPECIFIED) {
                spec.phase(Phase.valueOf(actor.getPhase().name()));
            }
            if (!receive) {
                for (InputEdge input : actor.getInputsList()) {
                    spec.input(local.get(input.getProducer()), input.getOutput());
                }
            }
            for (OutputProto output : actor.getOutputsList()) {
                spec.output(output.getQuota(), output.getBytes());
            }
            actor.getControlPredecessorsList().forEach(id -> spec.after(local.get(id)));
            actor.getIterationPredecessorsList().forEach(id -> spec.afterPreviousIteration(local.get(id)));
            spec.add();
        }
        Map<Integer, Integer> bucketOf = new HashMap<>();
        for (dev.tessera.proto.plan.CollectiveGroup group : fragment.getCollectiveGroupsList()) {
            if (group.getBucket() != 0) {
                group.getMembersList().forEach(member -> bucketOf.put(member, group.getBucket()));
            }
        }
        for (DeviceActionOrder order : fragment.getActionOrdersList()) {
            // a bucket member's sends wait for the whole bucket: they follow the bucket's last member
            // here, as the compiler places the member's readers, so that no send holds the order
            // before a later member's turn
            Map<String, Integer> lastMember = new HashMap<>();
            for (int position = 0; position < order.getActionsCount(); position++) {
                ActionProto action = order.getActions(position);
                if (action.getMovesOnAtStart() && bucketOf.containsKey(action.getActor())) {
                    lastMember.put(bucketOf.get(action.getActor()) + "/" + action.getMicroBatch(), position);
                }
            }
            Map<Integer, List<OrderedAction>> deferred = new HashMap<>();
            List<OrderedAction> inOrder = new ArrayList<>();
            for (int position = 0; position < order.getActionsCount(); position++) {
                ActionProto action = order.getActions(position);
                inOrder.add(new OrderedAction(local.get(action.getActor()), action.getMicroBatch(),
                        action.getMovesOnAtStart()));
                int after = action.getMovesOnAtStart() && bucketOf.containsKey(action.getActor())
                        ? lastMember.get(bucketOf.get(action.getActor()) + "/" + action.getMicroBatch()) : position;
                for (int send : sendActorsOf.getOrDefault(action.getActor(), List.of())) {
                    deferred.computeIfAbsent(after, p -> new ArrayList<>())
                            .add(new OrderedAction(send, action.getMicroBatch()));
                }
                inOrder.addAll(deferred.getOrDefault(position, List.of()));
            }
            builder.order(order.getDevice(), inOrder);
        }
        return new FragmentPlan(builder.build(), List.copyOf(actors), deviceOfActor);
    }

    Plan plan() {
        return plan;
    }

    /** The local plan's actors, by local id. */
    List<LocalActor> actors() {
        return actors;
    }

    /** The plan index of the device of actor {@code id} (a plan id): this process's or a collective member's. */
    int deviceOf(int id) {
        Integer device = deviceOfActor.get(id);
        if (device == null) {
            throw new IllegalArgumentException("actor " + id + " is neither in this fragment nor a collective member "
                    + "with a known device; cut the plan with PlanFragments.cut of this version");
        }
        return device;
    }
}
