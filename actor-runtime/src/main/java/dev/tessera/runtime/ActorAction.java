package dev.tessera.runtime;

/**
 * The work of one actor: a kernel, a data loader, a loss sink. The runtime calls every method
 * on the actor's device thread, never concurrently with another action of that device.
 */
public interface ActorAction {
    /**
     * Creates the payload of register {@code register} of output {@code output}, once, before
     * the first action: typically a preallocated buffer the action fills each time. The
     * payload is owned by this actor; consumers read it until they acknowledge it. The default
     * creates none (null), for actions that only {@link ActionContext#replaceOutput replace}.
     */
    default Object createPayload(int output, int register) {
        return null;
    }

    /**
     * Runs once per micro-batch of every iteration, when every input register is ready and a
     * free register exists for every output. Any exception stops the whole job; the job's
     * error names this actor's op, device, micro-batch and iteration.
     */
    void act(ActionContext context) throws Exception;
}
