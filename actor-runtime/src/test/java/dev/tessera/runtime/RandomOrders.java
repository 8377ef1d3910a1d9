package dev.tessera.runtime;

import dev.tessera.runtime.plan.ActionOrder;
import dev.tessera.runtime.plan.ActorKind;
import dev.tessera.runtime.plan.ActorSpec;
import dev.tessera.runtime.plan.ConsumerRef;
import dev.tessera.runtime.plan.InputRef;
import dev.tessera.runtime.plan.OrderedAction;
import dev.tessera.runtime.plan.Plan;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Random action orders that can run: one iteration of the plan is executed sequentially on
 * paper, each time picking at random one action the runtime would allow (inputs produced, a free
 * register for every output, control predecessors done), and each chosen device keeps its part of
 * that sequence. At the end of the iteration every register is free again, so the sequence
 * repeated is an execution of every iteration, and the devices' orders can always progress
 * (with blocking reads and bounded registers, whether such a network completes does not depend
 * on timing).
 */
final class RandomOrders {
    private RandomOrders() {
    }

    /** Orders for a random subset of the devices (each with probability {@code orderedShare}). */
    static Plan withRandomOrders(Plan plan, int microBatches, double orderedShare, Random random) {
        boolean[] ordered = new boolean[plan.devices().size()];
        for (int device = 0; device < ordered.length; device++) {
            ordered[device] = random.nextDouble() < orderedShare;
        }
        List<List<OrderedAction>> byDevice = new ArrayList<>();
        plan.devices().forEach(device -> byDevice.add(new ArrayList<>()));
        for (int[] action : feasibleIteration(plan, microBatches, random)) {
            byDevice.get(plan.actor(action[0]).device()).add(new OrderedAction(action[0], action[1]));
        }
        List<ActionOrder> orders = new ArrayList<>();
        for (int device = 0; device < ordered.length; device++) {
            if (ordered[device] && !byDevice.get(device).isEmpty()) {
                orders.add(new ActionOrder(device, byDevice.get(device)));
            }
        }
        return plan.withOrders(orders);
    }

    /** Every (actor, micro-batch) of one iteration, in an order the runtime's rules allow. */
    static List<int[]> feasibleIteration(Plan plan, int microBatches, Random random) {
        int actors = plan.actors().size();
        int[] done = new int[actors];
        List<int[]> sequence = new ArrayList<>();
        while (sequence.size() < actors * microBatches) {
            List<Integer> enabled = new ArrayList<>();
            for (ActorSpec actor : plan.actors()) {
                if (canAct(plan, actor, done, microBatches)) {
                    enabled.add(actor.id());
                }
            }
            if (enabled.isEmpty()) {
                throw new AssertionError("no action can run after " + sequence.size() + " actions\n" + plan);
            }
            int chosen = enabled.get(random.nextInt(enabled.size()));
            sequence.add(new int[] {chosen, done[chosen]});
            done[chosen]++;
        }
        return sequence;
    }

    private static boolean canAct(Plan plan, ActorSpec actor, int[] done, int microBatches) {
        int step = done[actor.id()];
        if (step == microBatches) {
            return false;
        }
        for (InputRef input : actor.inputs()) {
            if (done[input.producer()] <= step) {
                return false;
            }
        }
        for (int predecessor : actor.controlPredecessors()) {
            if (done[predecessor] <= step) {
                return false;
            }
        }
        for (int output = 0; output < actor.outputs().size(); output++) {
            int slowestHolder = step;
            for (int holder : holders(plan, actor.id(), output)) {
                slowestHolder = Math.min(slowestHolder, done[holder]);
            }
            // pieces produced and not yet released by every holder
            if (step - slowestHolder >= actor.outputs().get(output).quota()) {
                return false;
            }
        }
        return true;
    }

    /** The consumers of an output, and those of any in-process transfer that hands it on (and so holds it). */
    private static List<Integer> holders(Plan plan, int actor, int output) {
        List<Integer> holders = new ArrayList<>();
        for (ConsumerRef consumer : plan.consumers(actor, output)) {
            holders.add(consumer.consumer());
            if (plan.actor(consumer.consumer()).kind() == ActorKind.TRANSFER) {
                holders.addAll(holders(plan, consumer.consumer(), 0));
            }
        }
        return holders;
    }
}
