package dev.tessera.plan.compile;

import dev.tessera.graph.Op;
import dev.tessera.graph.Phase;
import dev.tessera.graph.Tensor;
import dev.tessera.proto.plan.ActorKind;
import dev.tessera.proto.plan.SinkRole;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One actor of a plan while the compiler builds it. Iteration edges may point to actors created
 * later (a forward op waits for its parameter's update), so every actor is collected first and
 * only then written out as Protobuf.
 */
final class ActorDraft {
    /** How an operand of a compute actor's op is fed when it is not a register. */
    static final int PERSISTENT = -1;
    static final int LEARNING_RATE = -2;
    static final int OPTIMIZER_STEP = -3;

    final int id;
    final String name;
    final String opType;
    final int device;
    /** Null for actors outside the training phases. */
    final Phase phase;
    final ActorKind kind;
    /** The op of a compute actor. */
    final Op op;
    /** The data input of a source, the tensor a sink reads. */
    final Tensor tensor;
    /** The role of a sink; null otherwise. */
    final SinkRole sinkRole;

    /** Per op input of a compute actor: the actor input it reads, or PERSISTENT, LEARNING_RATE, OPTIMIZER_STEP. */
    int[] operands;
    /** Per op input of a compute actor: the tensor whose buffer it reads (a folded reshape's root). */
    Tensor[] reads;
    /** Producer actor and output index of each input. */
    final List<int[]> inputs = new ArrayList<>();
    final List<Integer> quotas = new ArrayList<>();
    /** Tensor of each output; null for an ordering token. */
    final List<Tensor> outputTensors = new ArrayList<>();
    final Set<Integer> after = new LinkedHashSet<>();
    final Set<Integer> afterPreviousIteration = new LinkedHashSet<>();
    /** Output that only orders actors on other devices; -1 until needed. */
    int tokenOutput = -1;
    /** Per output index, per device: the transfer actor moving that output there. */
    final Map<Integer, Map<Integer, Integer>> transfers = new HashMap<>();

    ActorDraft(int id, String name, String opType, int device, Phase phase, ActorKind kind, Op op, Tensor tensor,
               SinkRole sinkRole) {
        this.id = id;
        this.name = name;
        this.opType = opType;
        this.device = device;
        this.phase = phase;
        this.kind = kind;
        this.op = op;
        this.tensor = tensor;
        this.sinkRole = sinkRole;
    }

    void output(int quota, Tensor holds) {
        quotas.add(quota);
        outputTensors.add(holds);
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
