package dev.tessera.runtime;

import dev.tessera.runtime.plan.Device;

/**
 * Moves a tensor between devices for a TRANSFER actor. In one process the payload is handed
 * over by reference ({@link InProcessTransfer}); across processes an implementation sends the
 * bytes (Aeron, later) and fills a buffer on the receiving side.
 */
public interface TensorTransfer {
    /**
     * Moves {@code source} (the payload of the producer's register on {@code from}) to
     * {@code to} and returns the payload the transfer actor's output register carries:
     * {@code destination} after filling it, or {@code source} itself when {@link #aliasesSource()}.
     */
    Object transfer(Object source, Object destination, Device from, Device to) throws Exception;

    /**
     * True when {@link #transfer} returns the source payload itself. The transfer actor then
     * keeps the producer's register (does not acknowledge it) until every consumer of its own
     * output acknowledged the hand-off, so the producer cannot overwrite a buffer still read.
     */
    boolean aliasesSource();

    /** Creates the buffer {@code transfer} fills, once per register; null when aliasing. */
    default Object createDestination(Device to) {
        return null;
    }
}
