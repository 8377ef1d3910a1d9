package dev.tessera.runtime.plan;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Checks the action orders of a plan against the rule of {@link ActionOrder}: at most one order
 * per device; every listed actor exists and is on that device; every actor of an ordered device
 * is listed once for each micro-batch, in increasing micro-batch order; every order implies the
 * same number of micro-batches. An order that contradicts the data or control edges is not
 * rejected here: the run reports it as a deadlock naming the device, the action and what it
 * waits for (see {@code dev.tessera.runtime.DeadlockException}).
 */
final class ActionOrderValidator {
    private ActionOrderValidator() {
    }

    static void check(List<Device> devices, List<ActorSpec> actors, List<ActionOrder> orders, List<String> problems) {
        Set<Integer> ordered = new HashSet<>();
        int microBatches = -1;
        String firstDevice = null;
        for (ActionOrder order : orders) {
            if (order.device() < 0 || order.device() >= devices.size()) {
                problems.add("an action order is given for unknown device " + order.device() + " (the plan has "
                        + devices.size() + " devices)");
                continue;
            }
            String device = devices.get(order.device()).name();
            if (!ordered.add(order.device())) {
                problems.add("device " + device + " has two action orders; give each device at most one");
                continue;
            }
            if (order.actions().isEmpty()) {
                problems.add("the action order of " + device + " is empty; list every action of its actors, "
                        + "or give the device no order to run its actors as their data arrives");
                continue;
            }
            int implied = order.microBatches();
            checkOrder(device, order, actors, implied, problems);
            if (microBatches < 0) {
                microBatches = implied;
                firstDevice = device;
            } else if (implied != microBatches) {
                problems.add("the action order of " + device + " lists " + implied + " micro-batches but that of "
                        + firstDevice + " lists " + microBatches + "; every order lists the run's micro-batches");
            }
        }
    }

    private static void checkOrder(String device, ActionOrder order, List<ActorSpec> actors, int microBatches,
                                   List<String> problems) {
        // listed[actor]: the micro-batches listed so far, in order of listing
        List<List<Integer>> listed = new ArrayList<>();
        actors.forEach(actor -> listed.add(new ArrayList<>()));
        for (int position = 0; position < order.actions().size(); position++) {
            OrderedAction action = order.actions().get(position);
            String where = "action " + position + " of the order of " + device;
            if (action.actor() < 0 || action.actor() >= actors.size()) {
                problems.add(where + " names unknown actor " + action.actor() + " (the plan has " + actors.size()
                        + " actors)");
                continue;
            }
            ActorSpec actor = actors.get(action.actor());
            if (actor.device() != order.device()) {
                problems.add(where + " lists '" + actor.name() + "', which runs on another device; an order lists "
                        + "only actors of its own device");
                continue;
            }
            if (action.microBatch() < 0) {
                problems.add(where + " lists '" + actor.name() + "' for micro-batch " + action.microBatch()
                        + "; micro-batches count from 0");
                continue;
            }
            List<Integer> before = listed.get(actor.id());
            if (before.contains(action.microBatch())) {
                problems.add(where + " lists '" + actor.name() + "' for micro-batch " + action.microBatch()
                        + " a second time; list each action once per iteration");
            } else if (!before.isEmpty() && before.get(before.size() - 1) > action.microBatch()) {
                problems.add(where + " lists '" + actor.name() + "' for micro-batch " + action.microBatch()
                        + " after micro-batch " + before.get(before.size() - 1)
                        + "; an actor acts for its micro-batches in increasing order");
            }
            before.add(action.microBatch());
        }
        for (ActorSpec actor : actors) {
            if (actor.device() != order.device()) {
                continue;
            }
            List<Integer> microBatchesListed = listed.get(actor.id());
            if (microBatchesListed.size() != microBatches || new HashSet<>(microBatchesListed).size() != microBatches) {
                problems.add("the action order of " + device + " lists '" + actor.name() + "' for micro-batches "
                        + microBatchesListed.stream().distinct().sorted().toList() + " but every actor of an ordered "
                        + "device acts once for each of the " + microBatches + " micro-batches 0 to "
                        + (microBatches - 1) + "; list the missing ones (update ops and sinks too)");
            }
        }
    }
}
