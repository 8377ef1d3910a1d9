package dev.tessera.graph;

/** What a tensor is for; the executor and the optimizer treat each kind differently. */
public enum TensorKind {
    /** Fed from data each micro-batch. */
    INPUT,
    /** A trainable weight, initialized once and updated by the optimizer. */
    PARAMETER,
    /** Produced by an op. */
    ACTIVATION,
    /** Optimizer state (momentum, Adam moments): lives across iterations, never differentiated. */
    STATE
}
