package dev.tessera.plan.schedule;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * What each action of a schedule waits for. This is the one place that defines the data flow
 * between actions; the validator's dry run and the simulator both execute against it.
 *
 * <p>F of stage s needs F of stage s-1 (of the same micro-batch); B or BW of stage s needs its own F
 * and the B (or BW) of stage s+1; W needs its B; the optimizer step of a stage needs every W (or BW)
 * of the stage. In a schedule with explicit communication ({@link PipelineSchedule#hasCommunication})
 * an edge between devices goes through a send and a receive: the F or B waits for its receive on its
 * own device, the receive for the peer's send, the send for the F or B that produced the data.
 * Without explicit communication the F or B waits for the producer on the other device directly.
 */
public final class Dependencies {
    private final PipelineSchedule schedule;
    private final boolean explicit;
    private final Set<Action> scheduled = new HashSet<>();

    public Dependencies(PipelineSchedule schedule) {
        this.schedule = schedule;
        this.explicit = schedule.hasCommunication();
        schedule.actionsPerDevice().forEach(scheduled::addAll);
    }

    /** The actions {@code action} waits for; each runs on the device of its stage. */
    public List<Action> of(Action action) {
        int stage = action.stage();
        int microBatch = action.microBatch();
        int device = schedule.deviceOf(stage);
        List<Action> needs = new ArrayList<>();
        switch (action.kind()) {
            case FORWARD -> {
                if (stage > 0) {
                    needs.add(explicit && schedule.deviceOf(stage - 1) != device
                            ? Action.receiveActivation(stage, microBatch) : Action.forward(stage - 1, microBatch));
                }
            }
            case BACKWARD_INPUT, FULL_BACKWARD -> {
                needs.add(Action.forward(stage, microBatch));
                if (stage < schedule.stages() - 1) {
                    needs.add(explicit && schedule.deviceOf(stage + 1) != device
                            ? Action.receiveGradient(stage, microBatch) : inputGradientOf(stage + 1, microBatch));
                }
            }
            case BACKWARD_WEIGHT -> needs.add(Action.backwardInput(stage, microBatch));
            case SEND_ACTIVATION -> needs.add(Action.forward(stage, microBatch));
            case SEND_GRADIENT -> needs.add(inputGradientOf(stage, microBatch));
            case RECEIVE_ACTIVATION -> {
                if (stage > 0) {
                    needs.add(Action.sendActivation(stage - 1, microBatch));
                }
            }
            case RECEIVE_GRADIENT -> {
                if (stage < schedule.stages() - 1) {
                    needs.add(Action.sendGradient(stage + 1, microBatch));
                }
            }
            case OPTIMIZER_STEP -> {
                for (int m = 0; m < schedule.microBatches(); m++) {
                    needs.add(scheduled.contains(Action.fullBackward(stage, m))
                            ? Action.fullBackward(stage, m) : Action.backwardWeight(stage, m));
                }
            }
            default -> throw new IllegalStateException("no dependency rule for " + action.kind());
        }
        return needs;
    }

    /** The B of (stage, micro-batch), or its BW where the schedule fuses them. */
    public Action inputGradientOf(int stage, int microBatch) {
        Action fused = Action.fullBackward(stage, microBatch);
        return scheduled.contains(fused) ? fused : Action.backwardInput(stage, microBatch);
    }
}
