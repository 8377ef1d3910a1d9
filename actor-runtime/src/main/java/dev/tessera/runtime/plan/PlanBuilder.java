package dev.tessera.runtime.plan;

import dev.tessera.graph.Phase;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Builds a {@link Plan} actor by actor; ids are assigned in order of {@link ActorBuilder#add()}.
 *
 * <pre>{@code
 * PlanBuilder plan = new PlanBuilder();
 * int cpu0 = plan.device("cpu:0");
 * int data = plan.actor("data", "Source", cpu0).kind(ActorKind.SOURCE).output(2).add();
 * int relu = plan.actor("relu", "Relu", cpu0).phase(Phase.FORWARD).input(data, 0).output(1).add();
 * plan.actor("loss", "Sink", cpu0).kind(ActorKind.SINK).input(relu, 0).add();
 * Plan built = plan.build();
 * }</pre>
 */
public final class PlanBuilder {
    private final List<Device> devices = new ArrayList<>();
    private final List<ActorSpec> actors = new ArrayList<>();
    private final List<ActionOrder> orders = new ArrayList<>();

    /** Adds a device and returns its index. */
    public int device(String name) {
        devices.add(new Device(devices.size(), name));
        return devices.size() - 1;
    }

    /** Starts an actor of kind {@link ActorKind#COMPUTE} with no phase, edges or outputs. */
    public ActorBuilder actor(String name, String op, int device) {
        return new ActorBuilder(name, op, device);
    }

    /**
     * Makes device {@code device} run its actors in exactly this order each iteration (see
     * {@link ActionOrder} for the rule an order follows; {@link #build()} checks it).
     */
    public PlanBuilder order(int device, List<OrderedAction> actions) {
        orders.add(new ActionOrder(device, actions));
        return this;
    }

    /** Validates and builds the plan; throws {@link InvalidPlanException} listing every problem. */
    public Plan build() {
        return Plan.of(devices, actors, orders);
    }

    /** One actor under construction; {@link #add()} appends it to the plan and returns its id. */
    public final class ActorBuilder {
        private final String name;
        private final String op;
        private final int device;
        private Optional<Phase> phase = Optional.empty();
        private ActorKind kind = ActorKind.COMPUTE;
        private final List<InputRef> inputs = new ArrayList<>();
        private final List<OutputSpec> outputs = new ArrayList<>();
        private final List<Integer> controlPredecessors = new ArrayList<>();
        private final List<Integer> iterationPredecessors = new ArrayList<>();

        private ActorBuilder(String name, String op, int device) {
            this.name = name;
            this.op = op;
            this.device = device;
        }

        public ActorBuilder phase(Phase value) {
            phase = Optional.of(value);
            return this;
        }

        public ActorBuilder kind(ActorKind value) {
            kind = value;
            return this;
        }

        /** Adds an input reading output {@code output} of actor {@code producer}. */
        public ActorBuilder input(int producer, int output) {
            inputs.add(new InputRef(producer, output));
            return this;
        }

        /** Adds an output with {@code quota} registers. */
        public ActorBuilder output(int quota) {
            outputs.add(new OutputSpec(quota));
            return this;
        }

        /** Adds an output with {@code quota} registers of {@code bytes} each. */
        public ActorBuilder output(int quota, long bytes) {
            outputs.add(new OutputSpec(quota, bytes));
            return this;
        }

        /** This actor acts for a micro-batch only after {@code predecessor} acted for it. */
        public ActorBuilder after(int predecessor) {
            controlPredecessors.add(predecessor);
            return this;
        }

        /** This actor acts in an iteration only after {@code predecessor} acted for all of the previous one. */
        public ActorBuilder afterPreviousIteration(int predecessor) {
            iterationPredecessors.add(predecessor);
            return this;
        }

        public int add() {
            int id = actors.size();
            actors.add(new ActorSpec(id, name, op, device, phase, kind, inputs, outputs, controlPredecessors,
                    iterationPredecessors));
            return id;
        }
    }
}
