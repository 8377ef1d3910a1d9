package dev.tessera.plan.compile;

import dev.tessera.proto.plan.ActionProto;
import dev.tessera.proto.plan.ActorKind;
import dev.tessera.proto.plan.ActorProto;
import dev.tessera.proto.plan.DeviceActionOrder;
import dev.tessera.proto.plan.InputEdge;
import dev.tessera.proto.plan.OutputProto;
import dev.tessera.proto.plan.PlanProto;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The register memory a plan needs on each device, two ways. Without reuse: every output's quota
 * times its payload bytes, as if each register had a buffer of its own. A schedule that keeps
 * activations until a deferred W (2BP, the zero-bubble families) raises the quotas of those
 * activations ({@link OrderQuotas}), so this is where its extra memory shows. With reuse: the
 * worker lends the registers of a device's compute actors buffers from one pool, a buffer serving
 * a register from its producer acting until the last consumer acknowledged it and then any other
 * register of the same payload type ({@code OutputProto.payload_type}); {@link #withReuse}
 * estimates what that pool grows to by running one iteration of the plan on paper. The runtime
 * measures both the peak of registers in use ({@code RunResult.peakRegisterBytes}) and what the
 * pools really hold.
 */
public final class PlanMemory {
    private PlanMemory() {
    }

    /** Per device of the plan (by index), the bytes of all its registers, one buffer each. */
    public static long[] allocatedRegisterBytes(PlanProto plan) {
        long[] bytes = new long[plan.getDevicesCount()];
        for (ActorProto actor : plan.getActorsList()) {
            for (OutputProto output : actor.getOutputsList()) {
                bytes[actor.getDevice()] += output.getQuota() * output.getBytes();
            }
        }
        return bytes;
    }

    /**
     * Per device of the plan (by index), the register bytes it holds when its compute actors'
     * registers share buffers by liveness: the registers of its other actors (sources, transfers,
     * collectives) one buffer each, plus the buffers its pool creates over one iteration. The
     * iteration is simulated: every actor acts once per micro-batch when its inputs are there, a
     * register of each output is free and its control predecessors are done; a device with an
     * action order follows it, one without acts its lowest ready actor first (the runtime acts
     * in the order messages arrive, so its pools may come out somewhat larger or smaller). An
     * actor takes its output buffers before it gives its inputs back, as the runtime's actors do
     * (a consumer acknowledges a register after acting), so no output takes the buffer of an
     * input it reads. A transfer holds its input until its own output is free, as one that
     * aliases its source does.
     *
     * @return empty when the simulated iteration cannot finish (a plan the runtime would refuse)
     */
    public static Optional<long[]> withReuse(PlanProto plan) {
        return new Simulation(plan).run();
    }

    /** One iteration of a plan on paper, counting the buffers each device's pool creates. */
    private static final class Simulation {
        private final PlanProto plan;
        private final int microBatches;
        private final List<ActorProto> actors;
        /** Per actor and output, its consumers' count; per actor, step, output, the consumers yet to read it. */
        private final int[][] consumers;
        private final int[][][] unread;
        private final int[][] alive;
        private final int[] done;
        private final long[] held;
        private final List<Map<String, Integer>> freeBuffers = new ArrayList<>();
        private final List<List<Integer>> actorsOn = new ArrayList<>();
        private final Map<Integer, List<ActionProto>> orders = new HashMap<>();
        private final int[] cursor;

        Simulation(PlanProto plan) {
            this.plan = plan;
            microBatches = Math.max(1, plan.getMicroBatches());
            actors = plan.getActorsList();
            int n = actors.size();
            consumers = new int[n][];
            unread = new int[n][microBatches][];
            alive = new int[n][];
            done = new int[n];
            held = new long[plan.getDevicesCount()];
            cursor = new int[plan.getDevicesCount()];
            for (int d = 0; d < plan.getDevicesCount(); d++) {
                freeBuffers.add(new HashMap<>());
                actorsOn.add(new ArrayList<>());
            }
            for (ActorProto actor : actors) {
                int outputs = actor.getOutputsCount();
                consumers[actor.getId()] = new int[outputs];
                alive[actor.getId()] = new int[outputs];
                for (int s = 0; s < microBatches; s++) {
                    unread[actor.getId()][s] = new int[outputs];
                }
                actorsOn.get(actor.getDevice()).add(actor.getId());
                if (!lends(actor)) {
                    for (OutputProto output : actor.getOutputsList()) {
                        held[actor.getDevice()] += output.getQuota() * output.getBytes();
                    }
                }
            }
            for (ActorProto actor : actors) {
                for (InputEdge input : actor.getInputsList()) {
                    consumers[input.getProducer()][input.getOutput()]++;
                }
            }
            for (DeviceActionOrder order : plan.getActionOrdersList()) {
                orders.put(order.getDevice(), order.getActionsList());
            }
        }

        private static boolean lends(ActorProto actor) {
            return actor.getKind() == ActorKind.COMPUTE;
        }

        Optional<long[]> run() {
            int remaining = actors.size() * microBatches;
            while (remaining > 0) {
                boolean acted = false;
                for (int d = 0; d < held.length; d++) {
                    int next = nextOn(d);
                    if (next >= 0) {
                        act(actors.get(next));
                        remaining--;
                        acted = true;
                    }
                }
                if (!acted) {
                    return Optional.empty();
                }
            }
            return Optional.of(held.clone());
        }

        /** The actor device {@code d} acts next, or -1 when none can now. */
        private int nextOn(int d) {
            List<ActionProto> order = orders.get(d);
            if (order != null) {
                if (cursor[d] == order.size()) {
                    return -1;
                }
                ActionProto action = order.get(cursor[d]);
                if (done[action.getActor()] == action.getMicroBatch() && ready(actors.get(action.getActor()))) {
                    cursor[d]++;
                    return action.getActor();
                }
                return -1;
            }
            for (int id : actorsOn.get(d)) {
                if (done[id] < microBatches && ready(actors.get(id))) {
                    return id;
                }
            }
            return -1;
        }

        private boolean ready(ActorProto actor) {
            int step = done[actor.getId()];
            for (InputEdge input : actor.getInputsList()) {
                if (done[input.getProducer()] <= step) {
                    return false;
                }
            }
            for (int o = 0; o < actor.getOutputsCount(); o++) {
                if (alive[actor.getId()][o] >= actor.getOutputs(o).getQuota()) {
                    return false;
                }
            }
            for (int predecessor : actor.getControlPredecessorsList()) {
                if (done[predecessor] <= step) {
                    return false;
                }
            }
            return true;
        }

        private void act(ActorProto actor) {
            int id = actor.getId();
            int step = done[id];
            for (int o = 0; o < actor.getOutputsCount(); o++) {
                alive[id][o]++;
                OutputProto output = actor.getOutputs(o);
                if (lends(actor) && output.getBytes() > 0) {
                    Map<String, Integer> free = freeBuffers.get(actor.getDevice());
                    int available = free.getOrDefault(output.getPayloadType(), 0);
                    if (available > 0) {
                        free.put(output.getPayloadType(), available - 1);
                    } else {
                        held[actor.getDevice()] += output.getBytes();
                    }
                }
                unread[id][step][o] = consumers[id][o];
            }
            done[id]++;
            if (actor.getKind() != ActorKind.TRANSFER) {
                release(actor, step);
            }
            for (int o = 0; o < actor.getOutputsCount(); o++) {
                if (consumers[id][o] == 0) {
                    free(actor, o, step);
                }
            }
        }

        /** {@code actor} has read its inputs of {@code step}. */
        private void release(ActorProto actor, int step) {
            for (InputEdge input : actor.getInputsList()) {
                int producer = input.getProducer();
                if (--unread[producer][step][input.getOutput()] == 0) {
                    free(actors.get(producer), input.getOutput(), step);
                }
            }
        }

        private void free(ActorProto actor, int output, int step) {
            alive[actor.getId()][output]--;
            OutputProto out = actor.getOutputs(output);
            if (lends(actor) && out.getBytes() > 0) {
                freeBuffers.get(actor.getDevice()).merge(out.getPayloadType(), 1, Integer::sum);
            }
            if (actor.getKind() == ActorKind.TRANSFER) {
                release(actor, step);
            }
        }
    }
}
