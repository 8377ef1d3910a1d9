package dev.tessera.plan.schedule;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One step of one device in a pipeline schedule: a kind, the stage it belongs to and the
 * micro-batch it works on ({@link #NO_MICRO_BATCH} for the optimizer step).
 *
 * <p>Text form, as in PyTorch's pipelining: stage, kind symbol, micro-batch, with no spaces.
 * {@code 0F3} is the forward of micro-batch 3 on stage 0; {@code 1B2} and {@code 1W2} the input and
 * weight gradients of micro-batch 2 on stage 1; {@code 2BW0} the fused backward; {@code 0SEND_F3} stage
 * 0 sending micro-batch 3's output to stage 1 and {@code 1RECV_F3} stage 1 receiving it;
 * {@code 1SEND_B3} stage 1 sending the gradient of its input to stage 0 and {@code 0RECV_B3} stage 0
 * receiving it; {@code 0STEP} the optimizer step of stage 0. A communication action always names the
 * stage on the device that runs it.
 */
public record Action(ActionKind kind, int stage, int microBatch) {
    public static final int NO_MICRO_BATCH = -1;

    private static final Pattern TEXT = Pattern.compile("(\\d+)(SEND_F|RECV_F|SEND_B|RECV_B|STEP|BW|F|B|W)(\\d*)");

    public Action {
        if (kind == null) {
            throw new IllegalArgumentException("an action needs a kind");
        }
        if (stage < 0) {
            throw new IllegalArgumentException("stage " + stage + " of a " + kind + " action is negative");
        }
        if (kind == ActionKind.OPTIMIZER_STEP ? microBatch != NO_MICRO_BATCH : microBatch < 0) {
            throw new IllegalArgumentException(kind == ActionKind.OPTIMIZER_STEP
                    ? "the optimizer step of stage " + stage + " covers all micro-batches; give it none, not " + microBatch
                    : "micro-batch " + microBatch + " of " + kind + " on stage " + stage + " is negative");
        }
    }

    public static Action forward(int stage, int microBatch) {
        return new Action(ActionKind.FORWARD, stage, microBatch);
    }

    public static Action backwardInput(int stage, int microBatch) {
        return new Action(ActionKind.BACKWARD_INPUT, stage, microBatch);
    }

    public static Action backwardWeight(int stage, int microBatch) {
        return new Action(ActionKind.BACKWARD_WEIGHT, stage, microBatch);
    }

    public static Action fullBackward(int stage, int microBatch) {
        return new Action(ActionKind.FULL_BACKWARD, stage, microBatch);
    }

    public static Action sendActivation(int stage, int microBatch) {
        return new Action(ActionKind.SEND_ACTIVATION, stage, microBatch);
    }

    public static Action receiveActivation(int stage, int microBatch) {
        return new Action(ActionKind.RECEIVE_ACTIVATION, stage, microBatch);
    }

    public static Action sendGradient(int stage, int microBatch) {
        return new Action(ActionKind.SEND_GRADIENT, stage, microBatch);
    }

    public static Action receiveGradient(int stage, int microBatch) {
        return new Action(ActionKind.RECEIVE_GRADIENT, stage, microBatch);
    }

    public static Action optimizerStep(int stage) {
        return new Action(ActionKind.OPTIMIZER_STEP, stage, NO_MICRO_BATCH);
    }

    /** Parses the text form ({@code 1B2}, {@code 0STEP}); throws IllegalArgumentException saying what is wrong. */
    public static Action parse(String text) {
        Matcher matcher = TEXT.matcher(text.strip());
        if (!matcher.matches()) {
            throw new IllegalArgumentException("cannot read action '" + text + "'; write stage, kind and micro-batch, "
                    + "e.g. 0F3, 1B2, 1W2, 2BW0, 0SEND_F3, 1RECV_F3, 1SEND_B3, 0RECV_B3 or 0STEP");
        }
        ActionKind kind = ActionKind.ofSymbol(matcher.group(2));
        String microBatch = matcher.group(3);
        if (kind == ActionKind.OPTIMIZER_STEP != microBatch.isEmpty()) {
            throw new IllegalArgumentException("action '" + text + "': " + (kind == ActionKind.OPTIMIZER_STEP
                    ? "STEP takes no micro-batch (write 0STEP)" : "give the micro-batch after " + kind.symbol()));
        }
        return new Action(kind, Integer.parseInt(matcher.group(1)),
                microBatch.isEmpty() ? NO_MICRO_BATCH : Integer.parseInt(microBatch));
    }

    @Override
    public String toString() {
        return stage + kind.symbol() + (microBatch == NO_MICRO_BATCH ? "" : Integer.toString(microBatch));
    }
}
