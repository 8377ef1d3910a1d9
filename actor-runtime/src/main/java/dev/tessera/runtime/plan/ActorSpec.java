package dev.tessera.runtime.plan;

import dev.tessera.graph.Phase;
import java.util.List;
import java.util.Optional;

/**
 * One actor of a plan: one physical op instance on one device.
 *
 * @param id                  position in {@link Plan#actors()}, from 0
 * @param name                unique name, e.g. {@code "layer1.matmul@cpu:0"}
 * @param op                  op type or name, shown in errors and traces, e.g. {@code "MatMul"}
 * @param device              index of the device the actor runs on
 * @param phase               when the op runs within an iteration (F, B, W, U), or empty for
 *                            actors outside the training phases (sources, transfers)
 * @param kind                what the actor does in the dataflow
 * @param inputs              where each input comes from
 * @param outputs             each output with its register quota
 * @param controlPredecessors ids of actors on the same device that must act for a micro-batch
 *                            before this actor acts for it (an explicit order, e.g. from a
 *                            pipeline schedule)
 * @param iterationPredecessors ids of actors on the same device that must have acted for
 *                            every micro-batch of the previous iteration before this actor
 *                            acts in an iteration, e.g. a parameter actor after the optimizer
 *                            step. Such an edge points back in time, so it may close a loop
 *                            over data edges (parameter, forward, ..., update, parameter).
 */
public record ActorSpec(int id, String name, String op, int device, Optional<Phase> phase,
                        ActorKind kind, List<InputRef> inputs, List<OutputSpec> outputs,
                        List<Integer> controlPredecessors, List<Integer> iterationPredecessors) {

    public ActorSpec {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("actor " + id + " needs a non-blank name");
        }
        if (op == null || op.isBlank()) {
            throw new IllegalArgumentException("actor '" + name + "' needs a non-blank op");
        }
        phase = phase == null ? Optional.empty() : phase;
        if (kind == null) {
            throw new IllegalArgumentException("actor '" + name + "' needs a kind");
        }
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
        controlPredecessors = List.copyOf(controlPredecessors);
        iterationPredecessors = List.copyOf(iterationPredecessors);
    }

    /** The phase letter (F, B, W or U), or the empty string when the actor has no phase. */
    public String phaseLetter() {
        return phase.map(Phase::letter).orElse("");
    }
}
