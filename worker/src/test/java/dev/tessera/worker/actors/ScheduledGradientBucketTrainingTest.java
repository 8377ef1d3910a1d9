package dev.tessera.worker.actors;

import static dev.tessera.worker.actors.TrainingModels.adamW;
import static dev.tessera.worker.actors.TrainingModels.batches;
import static dev.tessera.worker.actors.TrainingModels.learningRates;
import static dev.tessera.worker.actors.TrainingModels.parametersAndState;
import static dev.tessera.worker.actors.TrainingModels.requireSameTraining;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.graph.Op;
import dev.tessera.lowering.DistributedTraining;
import dev.tessera.plan.schedule.PipelineSchedule;
import dev.tessera.proto.graph.Phase;
import dev.tessera.proto.plan.ActionProto;
import dev.tessera.proto.plan.CollectiveGroup;
import dev.tessera.proto.plan.PlanProto;
import dev.tessera.sbp.DeviceId;
import dev.tessera.sbp.NdSbp;
import dev.tessera.sbp.Placement;
import dev.tessera.sbp.Sbp;
import dev.tessera.sbp.infer.CostModel;
import dev.tessera.sbp.infer.StageRules;
import dev.tessera.tensor.HostTensor;
import dev.tessera.tensor.Tolerance;
import dev.tessera.worker.exec.StepResult;
import dev.tessera.worker.exec.Traffic;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Gradient buckets under a pipeline schedule: two data-parallel stages, each device following its
 * stage's list, train bit for bit like the same schedule with one collective per gradient, with the
 * accumulators reduced once per iteration (4 micro-batches) or the weight gradients per micro-batch
 * (1 micro-batch), on 2 x 2 and 2 x 3 (stages x data) virtual devices; and the runtime counts what
 * the plan charges. A member of a bucket completes only once the bucket's last member arrived, so
 * before the orders let a member move on when it starts, such a run held its order: the time-out
 * fails it instead of a hang.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ScheduledGradientBucketTrainingTest {
    private static final int ITERATIONS = 3;
    /** Small enough that each stage's gradients make several buckets. */
    private static final long BUCKET_BYTES = 16 << 10;

    @ParameterizedTest(name = "{0}, {1} micro-batches, data {2}")
    @CsvSource({"GPIPE, 4, 2", "ONE_F_ONE_B, 4, 2", "ONE_F_ONE_B_TWO_BP, 4, 2", "ONE_F_ONE_B_TWO_BP_WEIGHTS_AT_END, 4, 2",
        "ZB_H1, 4, 2", "ZB_H2, 4, 2", "ONE_F_ONE_B, 1, 2", "ZB_H2, 1, 2", "ONE_F_ONE_B, 4, 3", "ZB_H1, 1, 3"})
    void shouldTrainDataParallelStagesUnderTheScheduleBitForBitLikeOneCollectivePerGradient(
            PipelineScheduleTrainingTest.Family family, int microBatches, int data) {
        Map<String, Integer> stageOfOp = new LinkedHashMap<>();
        TrainingGraph graph = TrainingModels.gpt(2 * data, microBatches, adamW(), 1.0);
        DistributedTraining layout = twoStages(graph, data, stageOfOp);
        PipelineSchedule schedule = family.build.apply(2, microBatches);
        List<List<Map<String, HostTensor>>> batches = batches(true, ITERATIONS, microBatches, 42, 2 * data);
        double[] rates = learningRates(ITERATIONS);
        ActorExecutorOptions perGradient = ActorExecutorOptions.defaults().withSchedule(schedule, stageOfOp);
        ActorExecutorOptions bucketed = perGradient.withGradientBucketBytes(BUCKET_BYTES);
        List<StepResult> expected;
        Map<String, HostTensor> expectedTensors;
        try (ParallelExecutor parallel = new ParallelExecutor(layout, 7, perGradient)) {
            assertTrue(parallel.compiledPlan().getCollectiveGroupsList().stream().allMatch(g -> g.getBucket() == 0));
            expected = parallel.run(batches, rates);
            expectedTensors = parametersAndState(parallel);
        }
        try (ParallelExecutor parallel = new ParallelExecutor(layout, 7, bucketed)) {
            PlanProto plan = parallel.compiledPlan();
            requireBucketsOfBothStages(plan, microBatches == 1 ? Phase.BACKWARD_WEIGHT : Phase.UPDATE);
            assertEquals(2 * data, plan.getActionOrdersCount(), "every device follows its stage's list");
            List<StepResult> actual = parallel.run(batches, rates);
            requireSameTraining(Tolerance.EXACT, expected, actual, expectedTensors, parametersAndState(parallel));
            Traffic traffic = parallel.traffic().orElseThrow();
            long[] planned = Arrays.stream(traffic.plannedPerIteration()).map(b -> b * ITERATIONS).toArray();
            assertArrayEquals(planned, traffic.sentSinceStart(), "counted bytes per device " + traffic.devices());
        }
    }

    /**
     * Cut into plan fragments per process (2 or 4), the bucketed 1F1B run of two data-parallel
     * stages trains bit for bit like unbucketed virtual devices: a member's result that leaves its
     * process is sent after the bucket's last member, as the compiler places the member's readers.
     */
    @ParameterizedTest(name = "{0} processes")
    @ValueSource(ints = {2, 4})
    void shouldTrainDataParallelStagesAsProcessesWithBucketsBitForBitLikeVirtualDevicesWithout(int processes) {
        ProcessFragmentTrainingTest.Layout layout = ProcessFragmentTrainingTest.Layout.GPT_TWO_DATA_PARALLEL_STAGES;
        ProcessFragmentTrainingTest.Schedule schedule = ProcessFragmentTrainingTest.Schedule.ONE_F_ONE_B;
        Map<String, Integer> stageOfOp = new LinkedHashMap<>();
        DistributedTraining distributed = ProcessFragmentTrainingTest.layout(layout, schedule, stageOfOp);
        ActorExecutorOptions perGradient = ProcessFragmentTrainingTest.options(layout, schedule, distributed, stageOfOp);
        ActorExecutorOptions bucketed = perGradient.withGradientBucketBytes(BUCKET_BYTES);
        int gptBatch = distributed.logical().forward().store().tensor("tokens").shape().dim(0);
        List<List<Map<String, HostTensor>>> data = batches(true, ITERATIONS, ProcessFragmentTrainingTest.MICRO_BATCHES,
                42, gptBatch);
        double[] rates = learningRates(ITERATIONS);
        try (ParallelExecutor virtual = new ParallelExecutor(distributed, 7, perGradient);
                ProcessGroup group = new ProcessGroup(distributed, 7, bucketed, processes)) {
            try (ParallelExecutor check = new ParallelExecutor(distributed, 7, bucketed)) {
                assertTrue(check.compiledPlan().getCollectiveGroupsList().stream().anyMatch(g -> g.getBucket() != 0),
                        "the plan fuses some gradients");
            }
            group.requireTrainsLike(virtual, data, rates);
        }
    }

    /**
     * ZeRO-style stages: the MLP's fc1 and fc2 on the first 2 devices, the head on the next 2,
     * every weight and its Adam moments split over its stage's data-parallel devices, so the
     * accumulators are reduce-scattered once per iteration, in buckets.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource({"ONE_F_ONE_B", "ZB_H2"})
    void shouldTrainShardedOptimizerStateStagesWithBucketsOfReduceScattersLikeOneReduceScatterPerGradient(
            PipelineScheduleTrainingTest.Family family) {
        int microBatches = 4;
        TrainingGraph graph = TrainingModels.mlp(microBatches, adamW(), 0.5);
        Placement first = Placement.of(List.of(new DeviceId(0, 0), new DeviceId(0, 1)), 2);
        Placement second = Placement.of(List.of(new DeviceId(0, 2), new DeviceId(0, 3)), 2);
        Map<Op, Placement> byOp = new StageRules(Map.of("head.", second)).resolve(graph.ops(), first);
        Map<String, Integer> stageOfOp = new LinkedHashMap<>();
        graph.ops().forEach(op -> stageOfOp.put(op.name(), byOp.containsKey(op) ? 1 : 0));
        Map<dev.tessera.graph.Tensor, NdSbp> hints = new LinkedHashMap<>();
        for (String tensor : List.of("x", "labels", "fc1.weight", "fc2.weight", "head.weight")) {
            hints.put(graph.forward().store().tensor(tensor), NdSbp.of(Sbp.split(0)));
        }
        DistributedTraining layout = DistributedTraining.plan(graph, first, byOp, hints, CostModel.standard());
        PipelineSchedule schedule = family.build.apply(2, microBatches);
        List<List<Map<String, HostTensor>>> batches = batches(false, ITERATIONS, microBatches, 42);
        double[] rates = learningRates(ITERATIONS);
        ActorExecutorOptions perGradient = ActorExecutorOptions.defaults().withSchedule(schedule, stageOfOp);
        List<StepResult> expected;
        Map<String, HostTensor> expectedTensors;
        try (ParallelExecutor parallel = new ParallelExecutor(layout, 7, perGradient)) {
            expected = parallel.run(batches, rates);
            expectedTensors = parametersAndState(parallel);
        }
        try (ParallelExecutor parallel = new ParallelExecutor(layout, 7, perGradient.withGradientBucketBytes(
                BUCKET_BYTES))) {
            PlanProto plan = parallel.compiledPlan();
            assertTrue(plan.getCollectiveGroupsList().stream().anyMatch(g -> g.getBucket() != 0
                    && g.getConversion().equals("REDUCE_SCATTER")), "a bucket of reduce-scatters");
            List<StepResult> actual = parallel.run(batches, rates);
            requireSameTraining(Tolerance.EXACT, expected, actual, expectedTensors, parametersAndState(parallel));
            Traffic traffic = parallel.traffic().orElseThrow();
            long[] planned = Arrays.stream(traffic.plannedPerIteration()).map(b -> b * ITERATIONS).toArray();
            assertArrayEquals(planned, traffic.sentSinceStart(), "counted bytes per device " + traffic.devices());
        }
    }

    /**
     * The plan fuses gradients of {@code phase} on both stages' devices, and every bucket member's
     * action (only theirs) moves its device's order on when it starts.
     */
    private static void requireBucketsOfBothStages(PlanProto plan, Phase phase) {
        Set<Integer> members = new java.util.HashSet<>();
        Set<List<Integer>> peerGroups = new java.util.HashSet<>();
        Map<Integer, Long> groupsPerBucket = plan.getCollectiveGroupsList().stream().filter(g -> g.getBucket() != 0)
                .collect(Collectors.groupingBy(CollectiveGroup::getBucket, Collectors.counting()));
        for (CollectiveGroup group : plan.getCollectiveGroupsList()) {
            if (group.getBucket() != 0) {
                assertEquals(phase, plan.getActors(group.getMembers(0)).getPhase(), "phase of " + group.getName());
                members.addAll(group.getMembersList());
                List<Integer> devices = new ArrayList<>();
                group.getMembersList().forEach(m -> devices.add(plan.getActors(m).getDevice()));
                peerGroups.add(devices);
            }
        }
        assertEquals(2, peerGroups.size(), "buckets on the devices of both stages: " + peerGroups);
        assertTrue(groupsPerBucket.values().stream().allMatch(n -> n > 1) && groupsPerBucket.size() >= 2,
                "several buckets of several gradients: " + groupsPerBucket);
        for (var order : plan.getActionOrdersList()) {
            for (ActionProto action : order.getActionsList()) {
                assertEquals(members.contains(action.getActor()), action.getMovesOnAtStart(),
                        plan.getActors(action.getActor()).getName());
            }
        }
    }

    /** The embeddings and block 0 on the first {@code data} devices, the rest on the next: the tokens split. */
    static DistributedTraining twoStages(TrainingGraph graph, int data, Map<String, Integer> stageOfOp) {
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
        graph.ops().forEach(op -> stageOfOp.put(op.name(), byOp.containsKey(op) ? 1 : 0));
        Map<dev.tessera.graph.Tensor, NdSbp> hints = new LinkedHashMap<>();
        for (String input : List.of("tokens", "targets")) {
            hints.put(graph.forward().store().tensor(input), NdSbp.of(Sbp.split(0)));
        }
        return DistributedTraining.plan(graph, first, byOp, hints, CostModel.standard());
    }
}
