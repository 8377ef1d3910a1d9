package dev.tessera.plan.compile;

import dev.tessera.proto.graph.Phase;
import dev.tessera.proto.plan.ActorKind;
import dev.tessera.proto.plan.ActorProto;
import dev.tessera.proto.plan.CollectiveGroup;
import dev.tessera.proto.plan.PlanProto;

/**
 * The bytes each device of a plan sends to other devices in one iteration, read off the plan:
 * what the runtime counts when it runs it. Every actor acts once per micro-batch, so a transfer
 * sends its payload (as many bytes as its output's {@code bytes}) from its producer's device
 * every micro-batch; a collective member sends its group's {@code bytes_sent} figure for its rank
 * every micro-batch, or once per iteration when it belongs to the update (update ops work at the
 * last micro-batch only). Tokens carry nothing.
 */
public final class PlanTraffic {
    private PlanTraffic() {
    }

    /** Per device of the plan (by index), the bytes it sends per iteration. */
    public static long[] bytesPerIteration(PlanProto plan) {
        long[] bytes = new long[plan.getDevicesCount()];
        int microBatches = plan.getMicroBatches();
        for (ActorProto actor : plan.getActorsList()) {
            if (actor.getKind() == ActorKind.TRANSFER) {
                ActorProto producer = plan.getActors(actor.getInputs(0).getProducer());
                bytes[producer.getDevice()] += actor.getOutputs(0).getBytes() * microBatches;
            }
        }
        for (CollectiveGroup group : plan.getCollectiveGroupsList()) {
            for (int rank = 0; rank < group.getMembersCount(); rank++) {
                ActorProto member = plan.getActors(group.getMembers(rank));
                int runs = member.getPhase() == Phase.UPDATE ? 1 : microBatches;
                bytes[member.getDevice()] += group.getBytesSent(rank) * runs;
            }
        }
        return bytes;
    }
}
