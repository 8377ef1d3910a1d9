package dev.tessera.runtime.plan;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;

/**
 * What the runtime executes: devices, and actors connected by data edges (input to producer
 * output) and control edges (run after another actor of the same device, per micro-batch).
 * A device may carry an {@link ActionOrder}: its actors then act in exactly that order; a device
 * without one runs each actor as soon as its data and a free register are there (dataflow).
 * A plan is always valid: {@link #of} runs {@link PlanValidator} and throws on any problem.
 */
public final class Plan {
    private final List<Device> devices;
    private final List<ActorSpec> actors;
    /** consumers[actor][output]: every input that reads that output. */
    private final List<List<List<ConsumerRef>>> consumers;
    /** controlSuccessors[actor]: actors that wait for this one, per micro-batch or per iteration. */
    private final List<List<Integer>> controlSuccessors;
    /** orders[device]: its action order, or null when it runs as its data arrives. */
    private final List<ActionOrder> orders;

    private Plan(List<Device> devices, List<ActorSpec> actors, List<ActionOrder> orders) {
        this.devices = List.copyOf(devices);
        this.actors = List.copyOf(actors);
        List<ActionOrder> byDevice = new ArrayList<>(Collections.nCopies(devices.size(), null));
        orders.forEach(order -> byDevice.set(order.device(), order));
        this.orders = Collections.unmodifiableList(byDevice);
        List<List<List<ConsumerRef>>> byActor = new ArrayList<>();
        List<List<Integer>> successors = new ArrayList<>();
        for (ActorSpec actor : actors) {
            List<List<ConsumerRef>> byOutput = new ArrayList<>();
            for (int output = 0; output < actor.outputs().size(); output++) {
                byOutput.add(new ArrayList<>());
            }
            byActor.add(byOutput);
            successors.add(new ArrayList<>());
        }
        for (ActorSpec actor : actors) {
            for (int input = 0; input < actor.inputs().size(); input++) {
                InputRef ref = actor.inputs().get(input);
                byActor.get(ref.producer()).get(ref.output()).add(new ConsumerRef(actor.id(), input));
            }
            for (int predecessor : actor.controlPredecessors()) {
                successors.get(predecessor).add(actor.id());
            }
            for (int predecessor : actor.iterationPredecessors()) {
                successors.get(predecessor).add(actor.id());
            }
        }
        this.consumers = byActor.stream()
                .map(outputs -> outputs.stream().map(List::copyOf).toList())
                .toList();
        this.controlSuccessors = successors.stream().map(List::copyOf).toList();
    }

    /**
     * Builds a plan.
     *
     * @throws InvalidPlanException listing every problem (unknown producer, quota below 1,
     *                              control edge across devices, cycle, ...)
     */
    public static Plan of(List<Device> devices, List<ActorSpec> actors) {
        return of(devices, actors, List.of());
    }

    /**
     * Builds a plan whose devices may carry an action order (at most one each).
     *
     * @throws InvalidPlanException listing every problem, of the actors and of the orders (an
     *                              actor of another device, an action listed twice or missing, ...)
     */
    public static Plan of(List<Device> devices, List<ActorSpec> actors, List<ActionOrder> orders) {
        List<String> problems = PlanValidator.problems(devices, actors, orders);
        if (!problems.isEmpty()) {
            throw new InvalidPlanException(problems);
        }
        return new Plan(devices, actors, orders);
    }

    /** The action order of device {@code device}; empty when its actors act as their data arrives. */
    public Optional<ActionOrder> order(int device) {
        return Optional.ofNullable(orders.get(device));
    }

    /** Every action order, in device order. */
    public List<ActionOrder> orders() {
        return orders.stream().filter(order -> order != null).toList();
    }

    /** The same actors and edges with these action orders instead of the plan's own. */
    public Plan withOrders(List<ActionOrder> replacement) {
        return of(devices, actors, replacement);
    }

    public List<Device> devices() {
        return devices;
    }

    public List<ActorSpec> actors() {
        return actors;
    }

    public ActorSpec actor(int id) {
        return actors.get(id);
    }

    public Device deviceOf(ActorSpec actor) {
        return devices.get(actor.device());
    }

    /** Every input that reads output {@code output} of actor {@code actor}. */
    public List<ConsumerRef> consumers(int actor, int output) {
        return consumers.get(actor).get(output);
    }

    /** Actors whose control or iteration predecessors include {@code actor}. */
    public List<Integer> controlSuccessors(int actor) {
        return controlSuccessors.get(actor);
    }

    /** Number of actors placed on device {@code device}. */
    public int actorCount(int device) {
        return (int) actors.stream().filter(actor -> actor.device() == device).count();
    }

    @Override
    public String toString() {
        StringBuilder text = new StringBuilder();
        for (ActorSpec actor : actors) {
            text.append(actor.id()).append(' ').append(actor.name()).append(" [").append(actor.op())
                    .append(' ').append(actor.kind()).append(' ').append(actor.phaseLetter())
                    .append("] on ").append(devices.get(actor.device()).name()).append(" inputs ")
                    .append(actor.inputs()).append(" quotas ")
                    .append(actor.outputs().stream().map(OutputSpec::quota).toList());
            if (!actor.controlPredecessors().isEmpty()) {
                text.append(" after ").append(actor.controlPredecessors());
            }
            if (!actor.iterationPredecessors().isEmpty()) {
                text.append(" after previous iteration of ").append(actor.iterationPredecessors());
            }
            text.append('\n');
        }
        for (ActionOrder order : orders()) {
            text.append("order of ").append(devices.get(order.device()).name()).append(':');
            for (OrderedAction action : order.actions()) {
                text.append(' ').append(actors.get(action.actor()).name()).append('/').append(action.microBatch());
            }
            text.append('\n');
        }
        return text.toString();
    }
}
