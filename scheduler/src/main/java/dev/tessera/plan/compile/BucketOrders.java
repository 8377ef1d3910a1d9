package dev.tessera.plan.compile;

import dev.tessera.plan.schedule.Action;
import dev.tessera.proto.plan.CollectiveGroup;
import dev.tessera.proto.plan.DeviceProto;
import dev.tessera.proto.plan.PlanProto;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What {@link ScheduleOrders} needs to know of a plan's gradient buckets: which actors are bucket
 * members (their actions move the order on when they start), and that a bucket's members of one
 * micro-batch share one action of the schedule on each device.
 */
final class BucketOrders {
    private BucketOrders() {
    }

    /** The gradient bucket of each member actor of a bucketed collective group. */
    static Map<Integer, Integer> bucketOfMember(PlanProto plan) {
        Map<Integer, Integer> out = new HashMap<>();
        for (CollectiveGroup group : plan.getCollectiveGroupsList()) {
            if (group.getBucket() != 0) {
                group.getMembersList().forEach(member -> out.put(member, group.getBucket()));
            }
        }
        return out;
    }

    /**
     * A bucket's members of one micro-batch on a device share a slot, so that the actions between
     * them are that slot's: the compiler cuts buckets per phase, peer devices and stage.
     */
    static void requireBucketsInOneSlot(PlanProto plan, List<List<Integer>> slots, List<List<Integer>> updates,
                                        Map<Integer, Integer> bucketOf, List<Action> actions) {
        if (bucketOf.isEmpty()) {
            return;
        }
        Map<String, Integer> slotOfBucket = new HashMap<>();
        for (int slot = 0; slot < slots.size() + updates.size(); slot++) {
            boolean update = slot >= slots.size();
            List<Integer> members = update ? updates.get(slot - slots.size()) : slots.get(slot);
            int microBatch = update ? slot - slots.size() : actions.get(slot).microBatch();
            for (int actor : members) {
                Integer bucket = bucketOf.get(actor);
                if (bucket == null) {
                    continue;
                }
                Integer before = slotOfBucket.putIfAbsent(bucket + "/" + microBatch, slot);
                if (before != null && before != slot) {
                    DeviceProto device = plan.getDevices(plan.getActors(actor).getDevice());
                    throw new IllegalStateException("gradient bucket " + bucket + " has members in two actions of the "
                            + "schedule on device " + device.getNode() + ":" + device.getDevice() + " (member '"
                            + plan.getActors(actor).getName() + "', micro-batch " + microBatch + "); a bucket holds "
                            + "the gradients of one stage");
                }
            }
        }
    }
}
