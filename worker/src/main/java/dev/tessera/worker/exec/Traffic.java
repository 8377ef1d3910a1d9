package dev.tessera.worker.exec;

import java.util.List;

/**
 * What each device of an executor sent to the other devices: counted by the runtime since the
 * executor started (collective messages and transferred tensors), and the execution plan's
 * figure for one training iteration, so a run can check the two against each other.
 *
 * @param devices the devices, as {@code node:device}
 * @param sentSinceStart per device, bytes sent so far
 * @param plannedPerIteration per device, bytes the plan sends per training iteration
 */
public record Traffic(List<String> devices, long[] sentSinceStart, long[] plannedPerIteration) {
    public Traffic {
        devices = List.copyOf(devices);
        sentSinceStart = sentSinceStart.clone();
        plannedPerIteration = plannedPerIteration.clone();
        if (sentSinceStart.length != devices.size() || plannedPerIteration.length != devices.size()) {
            throw new IllegalArgumentException("traffic of " + devices.size() + " devices needs as many counts, got "
                    + sentSinceStart.length + " and " + plannedPerIteration.length);
        }
    }
}
