package dev.tessera.runtime.plan;

/** What an actor does in the dataflow; the validator checks each kind's shape of edges. */
public enum ActorKind {
    /** Runs a kernel on input registers into output registers. */
    COMPUTE,
    /** Produces one piece per micro-batch (a data loader); no inputs. Its quota is its prefetch. */
    SOURCE,
    /** Consumes (loss, metrics); no outputs. */
    SINK,
    /** Hands one tensor from a producer on another device to actors on its own device. */
    TRANSFER
}
