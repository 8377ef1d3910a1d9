package dev.tessera.plan.compile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.autodiff.MiniatureModels;
import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.graph.Op;
import dev.tessera.lowering.DistributedTraining;
import dev.tessera.optim.Optimizer;
import dev.tessera.plan.schedule.ScheduleName;
import dev.tessera.proto.plan.ActionProto;
import dev.tessera.proto.plan.ActorProto;
import dev.tessera.proto.plan.CollectiveGroup;
import dev.tessera.proto.plan.DeviceActionOrder;
import dev.tessera.proto.plan.InputEdge;
import dev.tessera.proto.plan.PlanProto;
import dev.tessera.sbp.DeviceId;
import dev.tessera.sbp.NdSbp;
import dev.tessera.sbp.Placement;
import dev.tessera.sbp.Sbp;
import dev.tessera.sbp.infer.StageRules;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Gradient buckets under a pipeline schedule. A bucket's member completes only once every member
 * of its bucket, on every device, has started; a device's order gives its next action the turn
 * when the previous one completed, or started where the order says it moves on at start. The
 * orders of a bucketed plan must still run: the graph of the actions' starts and ends (data,
 * control and iteration edges, the order, each actor's steps in turn, a collective's members and a
 * bucket's members waiting for each other's starts) has no cycle, and between a bucket's first and
 * last member a device runs no action that reads one of the bucket's results.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ScheduledGradientBucketsTest {
    private static final Optimizer ADAM = new Optimizer.AdamW(0.9, 0.95, 1e-8, 0.1);
    private static final long BUCKET_BYTES = 16 << 10;

    static Stream<Arguments> cases() {
        List<Arguments> cases = new ArrayList<>();
        for (ScheduleName name : ScheduleName.values()) {
            if (name != ScheduleName.AUTO && name.oneStagePerDevice()) {
                for (int microBatches : new int[] {1, 4}) {
                    for (int data : new int[] {2, 3}) {
                        cases.add(Arguments.of(name, microBatches, data));
                    }
                }
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0}, {1} micro-batches, data {2}")
    @MethodSource("cases")
    void shouldOrderEveryBucketSoThatTheOrdersRun(ScheduleName name, int microBatches, int data) {
        PlanProto plan = bucketedPlan(name, microBatches, data);
        assertTrue(buckets(plan).size() >= 2, "several buckets: " + buckets(plan));
        for (DeviceActionOrder order : plan.getActionOrdersList()) {
            for (ActionProto action : order.getActionsList()) {
                assertEquals(bucketOf(plan).containsKey(action.getActor()), action.getMovesOnAtStart(),
                        "only a bucket member moves the order on at start: "
                                + plan.getActors(action.getActor()).getName());
            }
        }
        assertEquals(Optional.empty(), readerBetweenMembers(plan));
        assertEquals(Optional.empty(), stuck(plan));
    }

    @Test
    void shouldFindTheHoldOfOrdersThatMoveOnOnlyWhenABucketMemberCompleted() {
        PlanProto plan = bucketedPlan(ScheduleName.ONE_F_ONE_B, 4, 2);
        PlanProto.Builder held = plan.toBuilder();
        for (DeviceActionOrder.Builder order : held.getActionOrdersBuilderList()) {
            order.getActionsBuilderList().forEach(action -> action.setMovesOnAtStart(false));
        }
        assertTrue(stuck(held.build()).isPresent(), "the first member would wait for the next, ordered after it");
    }

    @Test
    void shouldFindAReaderOfABucketOrderedBeforeItsLastMember() {
        PlanProto plan = bucketedPlan(ScheduleName.ONE_F_ONE_B, 4, 2);
        DeviceActionOrder order = plan.getActionOrders(0);
        Map<Integer, Integer> bucketOf = bucketOf(plan);
        int last = -1;
        for (int position = 0; position < order.getActionsCount(); position++) {
            if (bucketOf.containsKey(order.getActions(position).getActor())) {
                last = position;
            }
        }
        ActionProto lastMember = order.getActions(last);
        int reader = -1;
        for (int position = last + 1; position < order.getActionsCount() && reader < 0; position++) {
            int actor = order.getActions(position).getActor();
            if (plan.getActors(actor).getInputsList().stream()
                    .anyMatch(input -> input.getProducer() == lastMember.getActor())) {
                reader = position;
            }
        }
        assertTrue(reader > last, "the last member's result is read on its device");
        List<ActionProto> actions = new ArrayList<>(order.getActionsList());
        actions.add(last, actions.remove(reader));
        PlanProto.Builder moved = plan.toBuilder();
        moved.getActionOrdersBuilder(0).clearActions().addAllActions(actions);
        assertTrue(readerBetweenMembers(moved.build()).isPresent());
        assertTrue(stuck(moved.build()).isPresent(), "the reader waits for the bucket, the last member for the reader");
    }

    /** Two stages, each on {@code data} devices with the tokens split: the embeddings and block 0, then the rest. */
    private static PlanProto bucketedPlan(ScheduleName name, int microBatches, int data) {
        TrainingGraph graph = MiniatureModels.gpt(2 * data, microBatches, ADAM, 1.0);
        List<DeviceId> firstDevices = new ArrayList<>();
        List<DeviceId> secondDevices = new ArrayList<>();
        for (int d = 0; d < data; d++) {
            firstDevices.add(new DeviceId(0, d));
            secondDevices.add(new DeviceId(0, data + d));
        }
        Placement first = Placement.of(firstDevices, data);
        Placement second = Placement.of(secondDevices, data);
        Map<Op, Placement> byOp = new StageRules(Map.of("block1.", second, "ln_final.", second, "head.", second))
                .resolve(graph.ops(), first);
        Map<String, Integer> stageOfOp = new LinkedHashMap<>();
        graph.ops().forEach(op -> stageOfOp.put(op.name(), byOp.containsKey(op) ? 1 : 0));
        Map<dev.tessera.graph.Tensor, NdSbp> hints = new LinkedHashMap<>();
        for (String input : List.of("tokens", "targets")) {
            hints.put(graph.forward().store().tensor(input), NdSbp.of(Sbp.split(0)));
        }
        DistributedTraining layout = DistributedTraining.plan(graph, first, byOp, hints,
                dev.tessera.sbp.infer.CostModel.standard());
        Map<String, Integer> physicalStageOfOp = new LinkedHashMap<>();
        for (Op op : layout.physical().ops()) {
            Integer stage = stageOfOp.get(op.name().substring(0, op.name().lastIndexOf('@')));
            if (stage != null) {
                physicalStageOfOp.put(op.name(), stage);
            }
        }
        return PlanCompiler.compile(layout, PlanOptions.of(1, 2).withSchedule(name.build(2, microBatches, 1),
                physicalStageOfOp).withGradientBucketBytes(BUCKET_BYTES));
    }

    private static Set<Integer> buckets(PlanProto plan) {
        Set<Integer> out = new HashSet<>();
        plan.getCollectiveGroupsList().stream().filter(g -> g.getBucket() != 0).forEach(g -> out.add(g.getBucket()));
        return out;
    }

    private static Map<Integer, Integer> bucketOf(PlanProto plan) {
        Map<Integer, Integer> out = new HashMap<>();
        for (CollectiveGroup group : plan.getCollectiveGroupsList()) {
            if (group.getBucket() != 0) {
                group.getMembersList().forEach(member -> out.put(member, group.getBucket()));
            }
        }
        return out;
    }

    /** An action that reads a bucket's result placed between that bucket's first and last member of its micro-batch. */
    private static Optional<String> readerBetweenMembers(PlanProto plan) {
        Map<Integer, Integer> bucketOf = bucketOf(plan);
        for (DeviceActionOrder order : plan.getActionOrdersList()) {
            Map<String, int[]> span = new HashMap<>();
            for (int position = 0; position < order.getActionsCount(); position++) {
                ActionProto action = order.getActions(position);
                Integer bucket = bucketOf.get(action.getActor());
                if (bucket != null) {
                    int at = position;
                    span.merge(bucket + "/" + action.getMicroBatch(), new int[] {at, at},
                            (a, b) -> new int[] {Math.min(a[0], b[0]), Math.max(a[1], b[1])});
                }
            }
            for (int position = 0; position < order.getActionsCount(); position++) {
                ActionProto action = order.getActions(position);
                for (InputEdge input : plan.getActors(action.getActor()).getInputsList()) {
                    Integer bucket = bucketOf.get(input.getProducer());
                    int[] members = bucket == null ? null : span.get(bucket + "/" + action.getMicroBatch());
                    if (members != null && !bucket.equals(bucketOf.get(action.getActor())) && position > members[0]
                            && position < members[1]) {
                        return Optional.of("'" + plan.getActors(action.getActor()).getName() + "' at " + position
                                + " reads bucket " + bucket + ", whose members run from " + members[0] + " to "
                                + members[1]);
                    }
                }
            }
        }
        return Optional.empty();
    }

    /**
     * Over two iterations, the first action of each device whose start or end lies on a cycle of
     * the wait graph, or empty when every action can start and end.
     */
    private static Optional<String> stuck(PlanProto plan) {
        int actors = plan.getActorsCount();
        int microBatches = plan.getMicroBatches();
        int steps = 2 * microBatches;
        int nodes = 2 * steps * actors;
        List<List<Integer>> successors = new ArrayList<>(nodes);
        for (int n = 0; n < nodes; n++) {
            successors.add(new ArrayList<>());
        }
        int[] waiting = new int[nodes];
        Edges edges = (before, after) -> {
            successors.get(before).add(after);
            waiting[after]++;
        };
        Map<Integer, List<Integer>> peers = new HashMap<>();
        Map<Integer, List<Integer>> byBucket = new HashMap<>();
        for (CollectiveGroup group : plan.getCollectiveGroupsList()) {
            group.getMembersList().forEach(member -> peers.put(member, group.getMembersList()));
            if (group.getBucket() != 0) {
                byBucket.computeIfAbsent(group.getBucket(), b -> new ArrayList<>()).addAll(group.getMembersList());
            }
        }
        bucketOf(plan).forEach((member, bucket) -> peers.put(member, byBucket.get(bucket)));
        for (int step = 0; step < steps; step++) {
            for (ActorProto actor : plan.getActorsList()) {
                int a = actor.getId();
                edges.add(start(step, a, actors), end(step, a, actors));
                for (InputEdge input : actor.getInputsList()) {
                    edges.add(end(step, input.getProducer(), actors), start(step, a, actors));
                }
                for (int predecessor : actor.getControlPredecessorsList()) {
                    edges.add(end(step, predecessor, actors), start(step, a, actors));
                }
                if (step >= microBatches) {
                    for (int predecessor : actor.getIterationPredecessorsList()) {
                        edges.add(end(microBatches - 1, predecessor, actors), start(step, a, actors));
                    }
                }
                if (step > 0) {
                    edges.add(end(step - 1, a, actors), start(step, a, actors));
                }
                for (int peer : peers.getOrDefault(a, List.of())) {
                    if (peer != a) {
                        edges.add(start(step, peer, actors), end(step, a, actors));
                    }
                }
            }
        }
        for (DeviceActionOrder order : plan.getActionOrdersList()) {
            int previous = -1;
            boolean previousMovesOnAtStart = false;
            for (int iteration = 0; iteration < 2; iteration++) {
                for (ActionProto action : order.getActionsList()) {
                    int step = iteration * microBatches + action.getMicroBatch();
                    if (previous >= 0) {
                        edges.add(previousMovesOnAtStart ? previous : previous + 1, start(step, action.getActor(), actors));
                    }
                    previous = start(step, action.getActor(), actors);
                    previousMovesOnAtStart = action.getMovesOnAtStart();
                }
            }
        }
        ArrayDeque<Integer> ready = new ArrayDeque<>();
        for (int n = 0; n < nodes; n++) {
            if (waiting[n] == 0) {
                ready.add(n);
            }
        }
        int done = 0;
        while (!ready.isEmpty()) {
            int n = ready.poll();
            done++;
            for (int successor : successors.get(n)) {
                if (--waiting[successor] == 0) {
                    ready.add(successor);
                }
            }
        }
        if (done == nodes) {
            return Optional.empty();
        }
        List<String> lines = new ArrayList<>();
        for (DeviceActionOrder order : plan.getActionOrdersList()) {
            for (ActionProto action : order.getActionsList()) {
                if (waiting[start(action.getMicroBatch(), action.getActor(), actors)] > 0) {
                    lines.add(plan.getActors(action.getActor()).getName() + "/" + action.getMicroBatch());
                    break;
                }
            }
        }
        assertFalse(lines.isEmpty(), "a cycle holds some device's action");
        return Optional.of(String.join(", ", lines));
    }

    @FunctionalInterface
    private interface Edges {
        void add(int before, int after);
    }

    private static int start(int step, int actor, int actors) {
        return 2 * (step * actors + actor);
    }

    private static int end(int step, int actor, int actors) {
        return start(step, actor, actors) + 1;
    }
}
