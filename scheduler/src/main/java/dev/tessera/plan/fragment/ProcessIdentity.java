package dev.tessera.plan.fragment;

import dev.tessera.sbp.DeviceId;
import java.util.List;

/**
 * What a worker process is, to check a fragment sent to it against.
 *
 * @param jobId       the job the process runs
 * @param planVersion the plan version the process expects
 * @param process     the process's number in the cut
 * @param devices     the devices the process holds, as node:device
 */
public record ProcessIdentity(String jobId, long planVersion, int process, List<DeviceId> devices) {
    public ProcessIdentity {
        devices = List.copyOf(devices);
    }
}
