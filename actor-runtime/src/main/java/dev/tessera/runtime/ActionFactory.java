package dev.tessera.runtime;

import dev.tessera.runtime.plan.ActorSpec;

/**
 * Supplies the action of every actor of a plan except transfer actors, whose action the
 * runtime builds from its {@link TensorTransfer}. Called once per actor, on the thread that
 * starts the run.
 */
@FunctionalInterface
public interface ActionFactory {
    ActorAction create(ActorSpec actor);
}
