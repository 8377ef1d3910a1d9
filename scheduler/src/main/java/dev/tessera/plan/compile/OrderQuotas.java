package dev.tessera.plan.compile;

import dev.tessera.proto.plan.ActionProto;
import dev.tessera.proto.plan.ActorKind;
import dev.tessera.proto.plan.ActorProto;
import dev.tessera.proto.plan.CollectiveGroup;
import dev.tessera.proto.plan.DeviceActionOrder;
import dev.tessera.proto.plan.InputEdge;
import dev.tessera.proto.plan.OutputProto;
import dev.tessera.proto.plan.PlanProto;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Register quotas under which a plan whose every device follows an action order cannot deadlock,
 * whatever the devices' speeds.
 *
 * <p>Without registers, an action (actor a, micro-batch j) runs once its device's previous action,
 * its producers and its control and iteration predecessors of the same step ran (a collective
 * member also waits for every other member to start, a gradient bucket's member for every member
 * of its bucket; after one that moves the order on when it starts, the next action waits only for
 * what that one's start waits for); call that relation "happens before". A
 * register adds one more condition: a's output needs a free register, i.e. every consumer of the
 * register's previous holder, micro-batch {@code j - quota}, is done with it (through a transfer
 * that aliases it, the transfer's consumers). This class gives each output the smallest quota for
 * which that condition already happens before (a, j) for every j, so registers never add a wait
 * the order does not have, and an order whose "happens before" is acyclic cannot deadlock. For a
 * forward activation kept for its W this is the peak number of micro-batches the stage holds
 * between F and W: 1F1B's p on stage 0, GPipe's m, ZB-H2's 2p-1.
 *
 * <p>It is computed over two iterations (the order repeats) with one vector clock per action:
 * per device, the last position on that device that happens before the action.
 */
final class OrderQuotas {
    private static final int ITERATIONS = 2;

    private final PlanProto plan;
    private final int actors;
    private final int microBatches;
    /** Per node (iteration, micro-batch, actor): its position in its device's order over both iterations. */
    private final int[] position;
    private final int[] deviceLength;
    /** Per node: its action moves the order on when it starts ({@code ActionProto.moves_on_at_start}). */
    private final boolean[] movesOnAtStart;
    /** Per actor: the members of every group of its gradient bucket, other devices' too; empty if none. */
    private final List<List<Integer>> bucketMembers = new ArrayList<>();
    private final int[][] clock;

    private OrderQuotas(PlanProto plan) {
        this.plan = plan;
        this.actors = plan.getActorsCount();
        this.microBatches = plan.getMicroBatches();
        int nodes = ITERATIONS * microBatches * actors;
        this.position = new int[nodes];
        this.deviceLength = new int[plan.getDevicesCount()];
        this.clock = new int[nodes][];
        this.movesOnAtStart = new boolean[nodes];
        Arrays.fill(position, -1);
        java.util.Map<Integer, List<Integer>> byBucket = new java.util.HashMap<>();
        for (CollectiveGroup group : plan.getCollectiveGroupsList()) {
            if (group.getBucket() != 0) {
                byBucket.computeIfAbsent(group.getBucket(), b -> new ArrayList<>()).addAll(group.getMembersList());
            }
        }
        plan.getActorsList().forEach(actor -> bucketMembers.add(List.of()));
        byBucket.values().forEach(members -> members.forEach(member -> bucketMembers.set(member, members)));
    }

    /**
     * The plan with each output's quota raised, where needed, to the smallest that its orders
     * never wait on.
     *
     * @throws IllegalArgumentException when the orders cannot run whatever the quotas: an action
     *     waits, through data, control or order edges, for one that comes after it
     */
    static PlanProto raise(PlanProto plan) {
        return new OrderQuotas(plan).raised();
    }

    private int node(int iteration, int microBatch, int actor) {
        return (iteration * microBatches + microBatch) * actors + actor;
    }

    private PlanProto raised() {
        List<List<Integer>> sequences = sequences();
        happensBefore(sequences);
        List<List<Integer>> consumers = consumers();
        PlanProto.Builder out = plan.toBuilder();
        for (ActorProto actor : plan.getActorsList()) {
            ActorProto.Builder raised = actor.toBuilder();
            for (int output = 0; output < actor.getOutputsCount(); output++) {
                int quota = required(actor.getId(), readers(actor.getId(), output, consumers));
                OutputProto current = actor.getOutputs(output);
                if (quota > current.getQuota()) {
                    raised.setOutputs(output, current.toBuilder().setQuota(quota));
                }
            }
            out.setActors(actor.getId(), raised);
        }
        return out.build();
    }

    /** Per device, the nodes of two iterations of its order; every actor must be on an ordered device. */
    private List<List<Integer>> sequences() {
        List<List<Integer>> sequences = new ArrayList<>();
        for (int d = 0; d < plan.getDevicesCount(); d++) {
            sequences.add(new ArrayList<>());
        }
        for (DeviceActionOrder order : plan.getActionOrdersList()) {
            deviceLength[order.getDevice()] = order.getActionsCount();
            for (int iteration = 0; iteration < ITERATIONS; iteration++) {
                for (ActionProto action : order.getActionsList()) {
                    int node = node(iteration, action.getMicroBatch(), action.getActor());
                    position[node] = sequences.get(order.getDevice()).size();
                    movesOnAtStart[node] = action.getMovesOnAtStart();
                    sequences.get(order.getDevice()).add(node);
                }
            }
        }
        for (ActorProto actor : plan.getActorsList()) {
            if (position[node(0, 0, actor.getId())] < 0) {
                throw new IllegalArgumentException("actor '" + actor.getName() + "' is in no action order; every "
                        + "device of a scheduled plan follows one");
            }
        }
        return sequences;
    }

    /** Vector clocks in a topological order of the nodes; a node left over is on a cycle. */
    private void happensBefore(List<List<Integer>> sequences) {
        int nodes = position.length;
        List<List<Integer>> successors = new ArrayList<>(nodes);
        int[] waiting = new int[nodes];
        for (int n = 0; n < nodes; n++) {
            successors.add(new ArrayList<>());
        }
        for (int n = 0; n < nodes; n++) {
            for (int predecessor : predecessors(n, sequences)) {
                successors.get(predecessor).add(n);
                waiting[n]++;
            }
        }
        Deque<Integer> ready = new ArrayDeque<>();
        for (int n = 0; n < nodes; n++) {
            if (waiting[n] == 0) {
                ready.add(n);
            }
            clock[n] = new int[plan.getDevicesCount()];
            Arrays.fill(clock[n], -1);
        }
        int done = 0;
        while (!ready.isEmpty()) {
            int n = ready.poll();
            done++;
            clock[n][device(n)] = Math.max(clock[n][device(n)], position[n]);
            for (int successor : successors.get(n)) {
                for (int d = 0; d < clock[n].length; d++) {
                    clock[successor][d] = Math.max(clock[successor][d], clock[n][d]);
                }
                if (--waiting[successor] == 0) {
                    ready.add(successor);
                }
            }
        }
        if (done < nodes) {
            throw new IllegalArgumentException("the action orders cannot run: " + stuck(sequences, waiting));
        }
    }

    /** The first action of each device that waits for something after it (directly or not). */
    private String stuck(List<List<Integer>> sequences, int[] waiting) {
        List<String> lines = new ArrayList<>();
        for (int d = 0; d < sequences.size(); d++) {
            for (int n : sequences.get(d)) {
                if (waiting[n] > 0) {
                    lines.add("device " + plan.getDevices(d).getNode() + ":" + plan.getDevices(d).getDevice()
                            + " at action " + (position[n] % Math.max(1, deviceLength[d])) + " ('"
                            + plan.getActors(n % actors).getName() + "', micro-batch " + microBatchOf(n) + ")");
                    break;
                }
            }
        }
        return String.join("; ", lines) + " wait, through data, control or order edges, for actions after them;"
                + " check that the schedule runs each F before its B and W and each stage's B after the next stage's";
    }

    private int device(int node) {
        return plan.getActors(node % actors).getDevice();
    }

    private int microBatchOf(int node) {
        return (node / actors) % microBatches;
    }

    private Set<Integer> predecessors(int node, List<List<Integer>> sequences) {
        Set<Integer> out = new LinkedHashSet<>(ownPredecessors(node, sequences));
        ActorProto actor = plan.getActors(node % actors);
        if (!bucketMembers.get(actor.getId()).isEmpty()) {
            for (int member : bucketMembers.get(actor.getId())) {
                if (member != actor.getId()) {
                    out.addAll(ownPredecessors(node - actor.getId() + member, sequences));
                }
            }
        } else if (actor.getKind() == ActorKind.COLLECTIVE) {
            for (CollectiveGroup group : plan.getCollectiveGroupsList()) {
                if (group.getMembersList().contains(actor.getId())) {
                    for (int member : group.getMembersList()) {
                        if (member != actor.getId()) {
                            out.addAll(ownPredecessors(node - actor.getId() + member, sequences));
                        }
                    }
                }
            }
        }
        return out;
    }

    private List<Integer> ownPredecessors(int node, List<List<Integer>> sequences) {
        ActorProto actor = plan.getActors(node % actors);
        int step = node / actors;
        int iteration = step / microBatches;
        List<Integer> out = new ArrayList<>();
        if (position[node] > 0) {
            int previous = sequences.get(actor.getDevice()).get(position[node] - 1);
            // after an action that moves the order on at start, the next waits only for its start
            out.addAll(movesOnAtStart[previous] ? ownPredecessors(previous, sequences) : List.of(previous));
        }
        if (step > 0 && movesOnAtStart[node - actors]) {
            // an actor acts again only once its previous action completed
            out.add(node - actors);
        }
        for (InputEdge input : actor.getInputsList()) {
            out.add(step * actors + input.getProducer());
        }
        for (int predecessor : actor.getControlPredecessorsList()) {
            out.add(step * actors + predecessor);
        }
        if (iteration > 0) {
            for (int predecessor : actor.getIterationPredecessorsList()) {
                out.add(node(iteration - 1, microBatches - 1, predecessor));
            }
        }
        return out;
    }

    /** Consumers of every actor's outputs: per actor, (consumer, output) pairs flattened as consumer * 1024 + output. */
    private List<List<Integer>> consumers() {
        List<List<Integer>> out = new ArrayList<>();
        plan.getActorsList().forEach(actor -> out.add(new ArrayList<>()));
        for (ActorProto actor : plan.getActorsList()) {
            for (InputEdge input : actor.getInputsList()) {
                out.get(input.getProducer()).add(actor.getId() * 1024 + input.getOutput());
            }
        }
        return out;
    }

    /** The actors whose acts free a register of {@code output}: its consumers, through transfers their consumers. */
    private Set<Integer> readers(int producer, int output, List<List<Integer>> consumers) {
        Set<Integer> out = new LinkedHashSet<>();
        for (int pair : consumers.get(producer)) {
            if (pair % 1024 == output) {
                int consumer = pair / 1024;
                out.add(consumer);
                if (plan.getActors(consumer).getKind() == ActorKind.TRANSFER) {
                    out.addAll(readers(consumer, 0, consumers));
                }
            }
        }
        return out;
    }

    /**
     * The smallest quota q such that, for every micro-batch g (over both iterations), every reader
     * of g - q happens before {@code producer} acts for g. Where no micro-batch's readers all do
     * (a plan without update ops lets a device start the next iteration while another still reads
     * this one; such plans run one iteration at a time), the smallest q whose readers at least do
     * not happen after it: the producer may then wait, but for nothing that waits for it.
     */
    private int required(int producer, Set<Integer> readers) {
        int quota = 1;
        for (int g = 0; g < ITERATIONS * microBatches; g++) {
            int node = g * actors + producer;
            int[] before = clock[node];
            int released = -1;
            int unordered = -1;
            for (int r = g - 1; r >= 0 && released < 0; r--) {
                boolean all = true;
                boolean noneAfter = true;
                for (int reader : readers) {
                    int n = r * actors + reader;
                    all &= position[n] <= before[device(n)];
                    noneAfter &= position[node] > clock[n][device(node)];
                }
                if (all) {
                    released = r;
                } else if (noneAfter && unordered < 0) {
                    unordered = r;
                }
            }
            quota = Math.max(quota, g - (released >= 0 ? released : unordered));
        }
        return quota;
    }
}
