package dev.tessera.plan.compile;

import dev.tessera.proto.plan.ActorProto;
import dev.tessera.proto.plan.OutputProto;
import dev.tessera.proto.plan.PlanProto;

/**
 * The register memory a plan allocates on each device: every output's quota times its payload
 * bytes. A schedule that keeps activations until a deferred W (2BP, the zero-bubble families)
 * raises the quotas of those activations ({@link OrderQuotas}), so this is where its extra memory
 * shows; the runtime measures how much of it is in use at most ({@code RunResult.peakRegisterBytes}).
 */
public final class PlanMemory {
    private PlanMemory() {
    }

    /** Per device of the plan (by index), the bytes of all its registers. */
    public static long[] allocatedRegisterBytes(PlanProto plan) {
        long[] bytes = new long[plan.getDevicesCount()];
        for (ActorProto actor : plan.getActorsList()) {
            for (OutputProto output : actor.getOutputsList()) {
                bytes[actor.getDevice()] += output.getQuota() * output.getBytes();
            }
        }
        return bytes;
    }
}
