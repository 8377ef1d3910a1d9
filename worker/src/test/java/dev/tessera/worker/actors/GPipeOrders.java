package dev.tessera.worker.actors;

import dev.tessera.proto.graph.Phase;
import dev.tessera.proto.plan.ActionProto;
import dev.tessera.proto.plan.ActorKind;
import dev.tessera.proto.plan.ActorProto;
import dev.tessera.proto.plan.DeviceActionOrder;
import dev.tessera.proto.plan.InputEdge;
import dev.tessera.proto.plan.PlanProto;
import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;

/**
 * A hand-written GPipe action order for every device of a compiled plan: the forward of every
 * micro-batch (F0 F1 ...), then the backward of every micro-batch (B0 B1 ...), then the update
 * ops (listed for every micro-batch, as the runtime's rule asks). An actor without a phase goes
 * with the latest of its producers (a source with the forward); within one micro-batch of one
 * group, actors follow their data and control edges, lowest id first.
 */
final class GPipeOrders {
    private static final int FORWARD = 0;
    private static final int BACKWARD = 1;
    private static final int UPDATE = 2;

    private GPipeOrders() {
    }

    static PlanProto withOrders(PlanProto plan) {
        int[] groups = new int[plan.getActorsCount()];
        java.util.Arrays.fill(groups, -1);
        PlanProto.Builder ordered = plan.toBuilder().clearActionOrders();
        for (int device = 0; device < plan.getDevicesCount(); device++) {
            DeviceActionOrder.Builder order = DeviceActionOrder.newBuilder().setDevice(device);
            for (int group = FORWARD; group <= UPDATE; group++) {
                for (int microBatch = 0; microBatch < plan.getMicroBatches(); microBatch++) {
                    for (int actor : inEdgeOrder(plan, device, group, groups)) {
                        order.addActions(ActionProto.newBuilder().setActor(actor).setMicroBatch(microBatch));
                    }
                }
            }
            ordered.addActionOrders(order);
        }
        return ordered.build();
    }

    /** The actors of one device and group, each after its producers and control predecessors among them. */
    private static List<Integer> inEdgeOrder(PlanProto plan, int device, int group, int[] groups) {
        List<Integer> members = new ArrayList<>();
        for (ActorProto actor : plan.getActorsList()) {
            if (actor.getDevice() == device && group(plan, actor.getId(), groups) == group) {
                members.add(actor.getId());
            }
        }
        int[] waiting = new int[plan.getActorsCount()];
        List<List<Integer>> successors = new ArrayList<>();
        plan.getActorsList().forEach(actor -> successors.add(new ArrayList<>()));
        for (int member : members) {
            for (int predecessor : predecessors(plan.getActors(member))) {
                if (members.contains(predecessor)) {
                    waiting[member]++;
                    successors.get(predecessor).add(member);
                }
            }
        }
        PriorityQueue<Integer> ready = new PriorityQueue<>();
        members.stream().filter(member -> waiting[member] == 0).forEach(ready::add);
        List<Integer> order = new ArrayList<>();
        while (!ready.isEmpty()) {
            int next = ready.poll();
            order.add(next);
            for (int successor : successors.get(next)) {
                if (--waiting[successor] == 0) {
                    ready.add(successor);
                }
            }
        }
        return order;
    }

    private static List<Integer> predecessors(ActorProto actor) {
        List<Integer> predecessors = new ArrayList<>(actor.getControlPredecessorsList());
        actor.getInputsList().stream().map(InputEdge::getProducer).forEach(predecessors::add);
        return predecessors;
    }

    private static int group(PlanProto plan, int id, int[] groups) {
        if (groups[id] >= 0) {
            return groups[id];
        }
        ActorProto actor = plan.getActors(id);
        int group = FORWARD;
        if (actor.getPhase() == Phase.FORWARD) {
            group = FORWARD;
        } else if (actor.getPhase() == Phase.BACKWARD_INPUT || actor.getPhase() == Phase.BACKWARD_WEIGHT) {
            group = BACKWARD;
        } else if (actor.getPhase() == Phase.UPDATE) {
            group = UPDATE;
        } else if (actor.getKind() != ActorKind.SOURCE) {
            for (InputEdge input : actor.getInputsList()) {
                group = Math.max(group, group(plan, input.getProducer(), groups));
            }
        }
        groups[id] = group;
        return group;
    }
}
