package dev.tessera.runtime;

import java.util.concurrent.CompletionStage;

/**
 * An action that finishes later than it starts: a collective member waits for messages from its
 * peers on other devices, and must not hold its device's thread while it waits. The runtime
 * calls {@link #start} when the actor can act; the actor's inputs stay taken and its output
 * registers stay reserved until the returned stage completes, and the actor does not act again
 * before that. Work the action does in between runs through {@link ActionContext#executor()}, so
 * it stays on the device's thread and never runs beside another action of that device.
 */
public interface AsyncActorAction extends ActorAction {
    /**
     * Starts one action. The context stays valid until the returned stage completes.
     *
     * @return completes when the outputs hold their result; exceptionally when the action failed,
     *     which stops the job like an exception of {@link ActorAction#act}
     */
    CompletionStage<Void> start(ActionContext context) throws Exception;

    /** Not called for an asynchronous action: the runtime calls {@link #start}. */
    @Override
    default void act(ActionContext context) {
        throw new UnsupportedOperationException("an asynchronous action is started, not acted; call start");
    }
}
