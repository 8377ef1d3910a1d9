package dev.tessera.runtime;

import dev.tessera.runtime.trace.Trace;
import java.util.Optional;

/**
 * A run that completed.
 *
 * @param actions   actions run, every actor times every step
 * @param wallNanos from the start of the actor system to its termination
 * @param runNanos  from telling the actors to start to the last one finishing: the run
 *                  without creating and terminating the actor system
 * @param trace     every action, when the run was traced
 */
public record RunResult(long actions, long wallNanos, long runNanos, Optional<Trace> trace) {
}
