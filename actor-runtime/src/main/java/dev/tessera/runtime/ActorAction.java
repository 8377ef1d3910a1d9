package dev.tessera.runtime;

/**
 * The work of one actor: a kernel, a data loader, a loss sink. The runtime calls every method
 * on the actor's device thread, never concurrently with another action of that device.
 */
public interface ActorAction {
    /**
     * Creates the payload of register {@code register} of output {@code output}, once, before
     * the first action (unless the action {@link #lendsPayloads lends them}): typically a preallocated
     * buffer the action fills each time. The
     * payload is owned by this actor; consumers read it until they acknowledge it. The default
     * creates none (null), for actions that only {@link ActionContext#replaceOutput replace}.
     */
    default Object createPayload(int output, int register) {
        return null;
    }

    /**
     * Whether this action lends its output payloads rather than owning one per register: then the
     * runtime asks {@link #createPayload} for a payload each time it takes a register that holds
     * none, just before the action acts, and hands it back through {@link #returnPayload} as soon
     * as the register is free again (every consumer acknowledged it). The action may give the
     * same payload to another register, or another action of its device, once it came back, so
     * a device needs only as many payloads as are in use at once (memory reuse by liveness). Such
     * an action's {@code createPayload} must never return a payload that is still lent out.
     */
    default boolean lendsPayloads() {
        return false;
    }

    /** A payload lent by {@link #createPayload} is free again: no consumer reads it any more. */
    default void returnPayload(int output, Object payload) {
    }

    /**
     * Runs once per micro-batch of every iteration, when every input register is ready and a
     * free register exists for every output. Any exception stops the whole job; the job's
     * error names this actor's op, device, micro-batch and iteration.
     */
    void act(ActionContext context) throws Exception;
}
