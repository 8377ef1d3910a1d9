package dev.tessera.runtime;

import dev.tessera.runtime.trace.Trace;
import java.util.Optional;

/**
 * A run that completed.
 *
 * @param actions   actions run, every actor times every step
 * @param wallNanos from the start of the actor system to its termination
 * @param trace     every action, when the run was traced
 */
public record RunResult(long actions, long wallNanos, Optional<Trace> trace) {
}
