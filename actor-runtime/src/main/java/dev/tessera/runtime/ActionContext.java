package dev.tessera.runtime;

import dev.tessera.runtime.plan.ActorSpec;
import dev.tessera.runtime.plan.Device;
import java.util.concurrent.Executor;

/**
 * What an action sees while it runs: the payloads of the input registers it consumes, the
 * payloads of the output registers it fills, and which micro-batch of which iteration this is.
 * Valid only during {@link ActorAction#act} (or, for an {@link AsyncActorAction}, until its
 * action completed); the runtime reuses one context per actor, so an action must not keep it.
 */
public interface ActionContext {
    ActorSpec actor();

    Device device();

    /** Micro-batch within the iteration, from 0. */
    int microBatch();

    /** Iteration, from 0. */
    long iteration();

    /** Payload of the input register consumed for input {@code index}; owned by its producer, read only. */
    Object input(int index);

    /** Payload of the output register being filled for output {@code index}; owned by this actor. */
    Object output(int index);

    /**
     * Makes output {@code index} carry {@code payload} instead of the register's own payload,
     * from now on. Meant for hand-offs that pass a reference instead of filling a buffer (an
     * in-process transfer); the payload must stay unchanged until every consumer acknowledged it.
     */
    void replaceOutput(int index, Object payload);

    /**
     * Runs tasks on this actor, one at a time between its messages, on its device's thread: where
     * an {@link AsyncActorAction} continues its work when a message it waited for arrived. Valid
     * for the actor's whole life; a task that throws fails the job.
     */
    Executor executor();
}
