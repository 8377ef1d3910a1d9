package dev.tessera.runtime;

import dev.tessera.runtime.trace.Trace;
import java.util.Optional;

/**
 * A run that completed.
 *
 * @param actions   actions run, every actor times every step
 * @param wallNanos from the start of the run to the moment its last actor stopped
 * @param runNanos  from telling the actors to start to the last one finishing: the run
 *                  without spawning and stopping its actors
 * @param trace     every action, when the run was traced
 * @param peakRegisterBytes per device index of the plan, the most register bytes in use at
 *                  once (by the outputs' payload sizes; 0 where the plan gives none)
 */
public record RunResult(long actions, long wallNanos, long runNanos, Optional<Trace> trace,
                        long[] peakRegisterBytes) {
    public RunResult {
        peakRegisterBytes = peakRegisterBytes.clone();
    }

    @Override
    public long[] peakRegisterBytes() {
        return peakRegisterBytes.clone();
    }
}
