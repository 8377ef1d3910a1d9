package dev.tessera.runtime.plan;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Checks that a plan can run: every reference resolves, quotas are at least 1, each kind has
 * its shape of edges, control edges stay on one device, tensors cross devices only through
 * transfer actors, data plus control edges form no cycle, and every action order follows the
 * rule of {@link ActionOrder}. Each problem names the actors,
 * devices and indices involved and says what to change.
 */
public final class PlanValidator {
    private PlanValidator() {
    }

    /** Every problem of a plan without action orders, in a stable order; empty when it is valid. */
    public static List<String> problems(List<Device> devices, List<ActorSpec> actors) {
        return problems(devices, actors, List.of());
    }

    /**
     * Every problem of the plan, in a stable order; empty when it is valid. Action orders are
     * checked against the rule of {@link ActionOrder} once the actors themselves are valid.
     */
    public static List<String> problems(List<Device> devices, List<ActorSpec> actors, List<ActionOrder> orders) {
        List<String> problems = new ArrayList<>();
        if (devices.isEmpty()) {
            problems.add("the plan has no device; add at least one");
        }
        if (actors.isEmpty()) {
            problems.add("the plan has no actor; add at least one source");
        }
        for (int i = 0; i < devices.size(); i++) {
            if (devices.get(i).index() != i) {
                problems.add("device '" + devices.get(i).name() + "' has index "
                        + devices.get(i).index() + " but is at position " + i);
            }
        }
        Set<String> names = new HashSet<>();
        for (int i = 0; i < actors.size(); i++) {
            ActorSpec actor = actors.get(i);
            if (actor.id() != i) {
                problems.add("actor '" + actor.name() + "' has id " + actor.id() + " but is at position " + i);
            }
            if (!names.add(actor.name())) {
                problems.add("two actors are named '" + actor.name() + "'; actor names must be unique");
            }
            if (actor.device() < 0 || actor.device() >= devices.size()) {
                problems.add("actor '" + actor.name() + "' is placed on unknown device " + actor.device()
                        + " (the plan has " + devices.size() + " devices)");
            }
        }
        if (!problems.isEmpty()) {
            return problems;
        }
        for (ActorSpec actor : actors) {
            checkEdges(devices, actors, actor, problems);
        }
        if (problems.isEmpty()) {
            findCycle(actors).addTo(problems);
        }
        if (problems.isEmpty()) {
            ActionOrderValidator.check(devices, actors, orders, problems);
        }
        return problems;
    }

    private static void checkEdges(List<Device> devices, List<ActorSpec> actors, ActorSpec actor,
                                   List<String> problems) {
        String who = "actor '" + actor.name() + "' (" + actor.op() + ")";
        for (int output = 0; output < actor.outputs().size(); output++) {
            int quota = actor.outputs().get(output).quota();
            if (quota < 1) {
                problems.add(who + " output " + output + " has register quota " + quota
                        + "; a quota must be at least 1");
            }
        }
        for (int input = 0; input < actor.inputs().size(); input++) {
            InputRef ref = actor.inputs().get(input);
            if (ref.producer() < 0 || ref.producer() >= actors.size()) {
                problems.add(who + " input " + input + " reads unknown producer " + ref.producer()
                        + " (the plan has " + actors.size() + " actors)");
                continue;
            }
            ActorSpec producer = actors.get(ref.producer());
            if (ref.output() < 0 || ref.output() >= producer.outputs().size()) {
                problems.add(who + " input " + input + " reads output " + ref.output() + " of '"
                        + producer.name() + "', which has " + producer.outputs().size() + " outputs");
            }
            boolean crossesDevices = producer.device() != actor.device();
            if (crossesDevices && actor.kind() != ActorKind.TRANSFER) {
                problems.add(who + " on " + devices.get(actor.device()).name() + " input " + input
                        + " reads '" + producer.name() + "' on " + devices.get(producer.device()).name()
                        + "; a tensor crosses devices only through a TRANSFER actor, insert one");
            }
            if (!crossesDevices && actor.kind() == ActorKind.TRANSFER) {
                problems.add(who + " is a TRANSFER but its producer '" + producer.name()
                        + "' is on the same device " + devices.get(actor.device()).name()
                        + "; read the producer directly");
            }
        }
        switch (actor.kind()) {
            case SOURCE -> {
                if (!actor.inputs().isEmpty() || actor.outputs().isEmpty()) {
                    problems.add(who + " is a SOURCE so it needs no inputs and at least one output; it has "
                            + actor.inputs().size() + " inputs and " + actor.outputs().size() + " outputs");
                }
            }
            case SINK -> {
                if (actor.inputs().isEmpty() || !actor.outputs().isEmpty()) {
                    problems.add(who + " is a SINK so it needs at least one input and no outputs; it has "
                            + actor.inputs().size() + " inputs and " + actor.outputs().size() + " outputs");
                }
            }
            case TRANSFER -> {
                if (actor.inputs().size() != 1 || actor.outputs().size() != 1) {
                    problems.add(who + " is a TRANSFER so it needs exactly one input and one output; it has "
                            + actor.inputs().size() + " inputs and " + actor.outputs().size() + " outputs");
                }
            }
            case COMPUTE, COLLECTIVE -> {
            }
        }
        Set<Integer> seen = new HashSet<>();
        List<Integer> predecessors = new ArrayList<>(actor.controlPredecessors());
        predecessors.addAll(actor.iterationPredecessors());
        for (int predecessor : predecessors) {
            if (predecessor < 0 || predecessor >= actors.size()) {
                problems.add(who + " has unknown control predecessor " + predecessor);
                continue;
            }
            ActorSpec before = actors.get(predecessor);
            if (predecessor == actor.id()) {
                problems.add(who + " names itself as control predecessor; remove that edge");
            } else if (!seen.add(predecessor)) {
                problems.add(who + " names control predecessor '" + before.name()
                        + "' twice (per micro-batch or per iteration, keep one)");
            } else if (before.device() != actor.device()) {
                problems.add("control edge from '" + before.name() + "' on " + devices.get(before.device()).name()
                        + " to '" + actor.name() + "' on " + devices.get(actor.device()).name()
                        + " crosses devices; control edges order actors of one device, "
                        + "use a data edge through a TRANSFER actor to order across devices");
            }
        }
    }

    /**
     * Depth-first search over data and per-micro-batch control edges, from each actor to its
     * predecessors. Iteration edges point to the previous iteration, so they close no cycle.
     */
    private static Cycle findCycle(List<ActorSpec> actors) {
        int[] state = new int[actors.size()]; // 0 unvisited, 1 on the current path, 2 done
        int[] parent = new int[actors.size()];
        for (int start = 0; start < actors.size(); start++) {
            if (state[start] != 0) {
                continue;
            }
            // Iterative DFS so deep chains cannot overflow the stack.
            List<int[]> stack = new ArrayList<>();
            stack.add(new int[] {start, 0});
            state[start] = 1;
            parent[start] = -1;
            while (!stack.isEmpty()) {
                int[] frame = stack.get(stack.size() - 1);
                List<Integer> predecessors = predecessors(actors.get(frame[0]));
                if (frame[1] == predecessors.size()) {
                    state[frame[0]] = 2;
                    stack.remove(stack.size() - 1);
                    continue;
                }
                int next = predecessors.get(frame[1]++);
                if (state[next] == 1) {
                    List<String> path = new ArrayList<>();
                    path.add(actors.get(next).name());
                    for (int at = frame[0]; at != next; at = parent[at]) {
                        path.add(actors.get(at).name());
                    }
                    path.add(actors.get(next).name());
                    return new Cycle(path);
                }
                if (state[next] == 0) {
                    state[next] = 1;
                    parent[next] = frame[0];
                    stack.add(new int[] {next, 0});
                }
            }
        }
        return new Cycle(List.of());
    }

    private static List<Integer> predecessors(ActorSpec actor) {
        List<Integer> predecessors = new ArrayList<>();
        actor.inputs().forEach(ref -> predecessors.add(ref.producer()));
        predecessors.addAll(actor.controlPredecessors());
        return predecessors;
    }

    /** A cycle as actor names, each running before the next one; empty when there is none. */
    private record Cycle(List<String> path) {
        void addTo(List<String> problems) {
            if (!path.isEmpty()) {
                problems.add("data and control edges form a cycle: " + String.join(" before ", path)
                        + "; every actor would wait for itself, remove one of these edges");
            }
        }
    }
}
