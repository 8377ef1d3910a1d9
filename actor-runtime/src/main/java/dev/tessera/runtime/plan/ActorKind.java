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
    TRANSFER,
    /**
     * One member of a collective: reads its device's part like a COMPUTE actor and exchanges
     * messages with the other members over the transport, outside the plan's edges; its action
     * is asynchronous ({@code AsyncActorAction}).
     */
    COLLECTIVE
}
