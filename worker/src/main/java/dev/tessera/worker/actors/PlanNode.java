package dev.tessera.worker.actors;

import dev.tessera.graph.Op;
import dev.tessera.graph.Phase;
import dev.tessera.graph.Tensor;
import dev.tessera.runtime.plan.ActorKind;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One actor of a lowered training plan while it is being built. Iteration edges may point to
 * actors created later (a forward op waits for its parameter's update), so the lowering
 * collects every actor first and only then hands them to the runtime's {@code PlanBuilder}.
 */
final class PlanNode {
    /** What the actor does; decides its action. */
    enum Role {
        /** Runs one op of the training graph through its kernel. */
        OP,
        /** Copies one data input of micro-batch k into its register. */
        SOURCE,
        /** Records the loss of every micro-batch. */
        LOSS_SINK,
        /** Records the gradient norm of every iteration and stops the job when it is not finite. */
        NORM_SINK,
        /**
         * Stops the job when the gradient norm is not finite, on a device other than the norm's:
         * that device's update ops wait for it.
         */
        NORM_CHECK,
        /** Hands a tensor or an ordering token to another device (the runtime supplies its action). */
        TRANSFER
    }

    final int id;
    final String name;
    final String opType;
    final int device;
    final Phase phase;
    final ActorKind kind;
    final Role role;
    /** The op of an OP actor. */
    final Op op;
    /** The data input of a SOURCE, the tensor read by a sink. */
    final Tensor tensor;

    /** Input kinds of an OP actor that are not registers, see {@link #slots}. */
    static final int PERSISTENT = -1;
    static final int LEARNING_RATE = -2;
    static final int OPTIMIZER_STEP = -3;

    /**
     * For each input of the op of an OP actor: the index of the actor input (register) it
     * reads, or {@link #PERSISTENT} (parameter or optimizer state, bound directly),
     * {@link #LEARNING_RATE} or {@link #OPTIMIZER_STEP} (filled from the run's schedule).
     */
    int[] slots;
    /**
     * For each input of the op of an OP actor: the tensor whose buffer it reads. That is the
     * input itself, or, for the output of a reshape folded away, the reshape's (root) input,
     * which the action then views in the op input's shape.
     */
    Tensor[] reads;
    /** Producer node and output index of each input. */
    final List<int[]> inputs = new ArrayList<>();
    /** Register quota of each output. */
    final List<Integer> quotas = new ArrayList<>();
    final Set<Integer> after = new LinkedHashSet<>();
    final Set<Integer> afterPreviousIteration = new LinkedHashSet<>();
    /** Output that only orders actors on other devices (payload null); -1 until needed. */
    int tokenOutput = -1;
    /** Per output index, per device: the transfer node moving that output there. */
    final Map<Integer, Map<Integer, Integer>> transfers = new HashMap<>();

    PlanNode(int id, String name, String opType, int device, Phase phase, ActorKind kind, Role role, Op op,
             Tensor tensor) {
        this.id = id;
        this.name = name;
        this.opType = opType;
        this.device = device;
        this.phase = phase;
        this.kind = kind;
        this.role = role;
        this.op = op;
        this.tensor = tensor;
    }

    /** Index of the input reading {@code output} of {@code producer}, adding it when new. */
    int inputFrom(int producer, int output) {
        for (int i = 0; i < inputs.size(); i++) {
            if (inputs.get(i)[0] == producer && inputs.get(i)[1] == output) {
                return i;
            }
        }
        inputs.add(new int[] {producer, output});
        return inputs.size() - 1;
    }
}
