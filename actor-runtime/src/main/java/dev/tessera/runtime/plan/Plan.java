package dev.tessera.runtime.plan;

import java.util.ArrayList;
import java.util.List;

/**
 * What the runtime executes: devices, and actors connected by data edges (input to producer
 * output) and control edges (run after another actor of the same device, per micro-batch).
 * A plan is always valid: {@link #of} runs {@link PlanValidator} and throws on any problem.
 */
public final class Plan {
    private final List<Device> devices;
    private final List<ActorSpec> actors;
    /** consumers[actor][output]: every input that reads that output. */
    private final List<List<List<ConsumerRef>>> consumers;
    /** controlSuccessors[actor]: actors that wait for this one, per micro-batch or per iteration. */
    private final List<List<Integer>> controlSuccessors;

    private Plan(List<Device> devices, List<ActorSpec> actors) {
        this.devices = List.copyOf(devices);
        this.actors = List.copyOf(actors);
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
        List<String> problems = PlanValidator.problems(devices, actors);
        if (!problems.isEmpty()) {
            throw new InvalidPlanException(problems);
        }
        return new Plan(devices, actors);
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
        return text.toString();
    }
}
