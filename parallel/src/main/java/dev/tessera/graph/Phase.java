package dev.tessera.graph;

/**
 * When an op runs within a training iteration. Backward is split in two, as 2-stage
 * backpropagation and the zero-bubble schedules need: B ops compute gradients with respect to
 * activations (the previous stage waits for them), W ops compute gradients with respect to
 * weights (they can be delayed to fill pipeline bubbles).
 */
public enum Phase {
    FORWARD("F"),
    BACKWARD_INPUT("B"),
    BACKWARD_WEIGHT("W"),
    /** Gradient accumulation, clipping and the optimizer step, once per iteration. */
    UPDATE("U");

    private final String letter;

    Phase(String letter) {
        this.letter = letter;
    }

    public String letter() {
        return letter;
    }
}
