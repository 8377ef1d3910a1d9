package dev.tessera.plan.schedule;

/**
 * What a pipeline action does. The split of the backward into {@link #BACKWARD_INPUT} (B) and
 * {@link #BACKWARD_WEIGHT} (W) is what the 2BP and zero-bubble schedules reorder; {@link #FULL_BACKWARD}
 * (BW) is both fused, as a schedule without the split runs it.
 */
public enum ActionKind {
    /** Forward of one micro-batch through one stage: {@code 0F3}. */
    FORWARD("F"),
    /** Gradient with respect to the stage's input (what the previous stage waits for): {@code 1B2}. */
    BACKWARD_INPUT("B"),
    /** Gradient with respect to the stage's weights (nothing else waits for it but the step): {@code 1W2}. */
    BACKWARD_WEIGHT("W"),
    /** B and W fused: {@code 2BW0}. */
    FULL_BACKWARD("BW"),
    /** Stage s sends its forward output of a micro-batch to stage s+1: {@code 0SEND_F3}. */
    SEND_ACTIVATION("SEND_F"),
    /** Stage s receives its forward input of a micro-batch from stage s-1: {@code 1RECV_F3}. */
    RECEIVE_ACTIVATION("RECV_F"),
    /** Stage s sends the gradient of its input of a micro-batch to stage s-1: {@code 1SEND_B3}. */
    SEND_GRADIENT("SEND_B"),
    /** Stage s receives the gradient of its output of a micro-batch from stage s+1: {@code 0RECV_B3}. */
    RECEIVE_GRADIENT("RECV_B"),
    /** The optimizer step of one stage, after every W (or BW) of the stage: {@code 0STEP}. */
    OPTIMIZER_STEP("STEP");

    private final String symbol;

    ActionKind(String symbol) {
        this.symbol = symbol;
    }

    /** The text form's symbol, between the stage and the micro-batch: "F", "BW", "SEND_F", ... */
    public String symbol() {
        return symbol;
    }

    /** F, B, W and BW: the kinds that occupy a device for a modeled compute time. */
    public boolean isCompute() {
        return this == FORWARD || this == BACKWARD_INPUT || this == BACKWARD_WEIGHT || this == FULL_BACKWARD;
    }

    public boolean isSend() {
        return this == SEND_ACTIVATION || this == SEND_GRADIENT;
    }

    public boolean isReceive() {
        return this == RECEIVE_ACTIVATION || this == RECEIVE_GRADIENT;
    }

    public boolean isCommunication() {
        return isSend() || isReceive();
    }

    /** B or BW: the action that produces the gradient the previous stage needs. */
    public boolean producesInputGradient() {
        return this == BACKWARD_INPUT || this == FULL_BACKWARD;
    }

    /** W or BW: the action after which a micro-batch's weight gradient is complete. */
    public boolean completesWeightGradient() {
        return this == BACKWARD_WEIGHT || this == FULL_BACKWARD;
    }

    /** The kind whose symbol is {@code symbol}; throws IllegalArgumentException naming the valid symbols. */
    public static ActionKind ofSymbol(String symbol) {
        for (ActionKind kind : values()) {
            if (kind.symbol.equals(symbol)) {
                return kind;
            }
        }
        throw new IllegalArgumentException("unknown action kind '" + symbol
                + "'; use F, B, W, BW, SEND_F, RECV_F, SEND_B, RECV_B or STEP");
    }
}
