package dev.tessera.worker.actors;

import static dev.tessera.worker.actors.MultiDeviceTrainingTest.stages;
import static dev.tessera.worker.actors.TrainingModels.adamW;
import static dev.tessera.worker.actors.TrainingModels.batches;
import static dev.tessera.worker.actors.TrainingModels.learningRates;
import static dev.tessera.worker.actors.TrainingModels.parametersAndState;
import static dev.tessera.worker.actors.TrainingModels.reference;
import static dev.tessera.worker.actors.TrainingModels.requireSameTraining;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.lowering.DistributedTraining;
import dev.tessera.plan.schedule.Action;
import dev.tessera.plan.schedule.InvalidScheduleException;
import dev.tessera.plan.schedule.PipelineSchedule;
import dev.tessera.plan.schedule.Schedules;
import dev.tessera.proto.graph.Phase;
import dev.tessera.proto.plan.ActionProto;
import dev.tessera.proto.plan.DeviceActionOrder;
import dev.tessera.proto.plan.PlanProto;
import dev.tessera.runtime.DeadlockException;
import dev.tessera.runtime.plan.ActionOrder;
import dev.tessera.runtime.plan.OrderedAction;
import dev.tessera.runtime.trace.DeviceTraceBuffer;
import dev.tessera.runtime.trace.Trace;
import dev.tessera.tensor.HostTensor;
import dev.tessera.tensor.Tolerance;
import dev.tessera.worker.exec.ReferenceExecutor;
import dev.tessera.worker.exec.StepResult;
import dev.tessera.graph.Op;
import dev.tessera.sbp.DeviceId;
import dev.tessera.sbp.Placement;
import dev.tessera.sbp.infer.CostModel;
import dev.tessera.sbp.infer.StageRules;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Pipeline schedules driving real training: a model split into 2, 3 or 4 stages of one device
 * each, every device following the action order the plan compiler expands the schedule into,
 * trains exactly like the reference executor (Tolerance.EXACT: a schedule changes when each op
 * runs, never what it computes, and each parameter's gradient is still accumulated micro-batch
 * 0, 1, ... in order), and so bit for bit like the same layout run as its data arrives and like
 * every other schedule. The runtime's trace shows each device ran its order, action by action.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class PipelineScheduleTrainingTest {
    private static final int ITERATIONS = 3;

    /** The families that run one stage per device, by config name. */
    enum Family {
        GPIPE(Schedules::gpipe), ONE_F_ONE_B(Schedules::oneFOneB), ONE_F_ONE_B_TWO_BP(Schedules::oneFOneBTwoBp),
        ONE_F_ONE_B_TWO_BP_WEIGHTS_AT_END(Schedules::oneFOneBTwoBpWeightsAtEnd), ZB_H1(Schedules::zbH1),
        ZB_H2(Schedules::zbH2);

        final BiFunction<Integer, Integer, PipelineSchedule> build;

        Family(BiFunction<Integer, Integer, PipelineSchedule> build) {
            this.build = build;
        }
    }

    /** A model split into stages by name prefix. */
    enum Layout {
        MLP_TWO_STAGES(false, 2, Map.of("fc2.", 1, "head.", 1)),
        MLP_THREE_STAGES(false, 3, Map.of("fc2.", 1, "head.", 2)),
        GPT_TWO_STAGES(true, 2, Map.of("block1.", 1, "ln_final.", 1, "head.", 1)),
        GPT_FOUR_STAGES(true, 4, Map.of("block0.", 1, "block1.", 2, "ln_final.", 3, "head.", 3));

        final boolean gpt;
        final int stages;
        final Map<String, Integer> byPrefix;

        Layout(boolean gpt, int stages, Map<String, Integer> byPrefix) {
            this.gpt = gpt;
            this.stages = stages;
            this.byPrefix = byPrefix;
        }

        DistributedTraining split(int microBatches) {
            TrainingGraph graph = gpt ? TrainingModels.gpt(microBatches, adamW(), 1.0)
                    : TrainingModels.mlp(microBatches, adamW(), 0.5);
            DistributedTraining split = stages(graph, stages, byPrefix);
            assertEquals(stages, split.devices().size(), "one device per stage");
            return split;
        }
    }

    static Stream<Arguments> cases() {
        List<Arguments> cases = new ArrayList<>();
        for (Layout layout : Layout.values()) {
            for (int microBatches : new int[] {4, 8}) {
                for (Family family : Family.values()) {
                    cases.add(Arguments.of(layout, microBatches, family));
                }
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0}, {1} micro-batches, {2}")
    @MethodSource("cases")
    void shouldTrainEveryStageLayoutWithEveryScheduleExactlyLikeTheReferenceAndTheDataflowRun(Layout layout,
            int microBatches, Family family) {
        DistributedTraining split = layout.split(microBatches);
        PipelineSchedule schedule = family.build.apply(layout.stages, microBatches);
        List<List<Map<String, HostTensor>>> data = batches(layout.gpt, ITERATIONS, microBatches, 42);
        double[] rates = learningRates(ITERATIONS);
        ActorExecutorOptions options = ActorExecutorOptions.defaults().withTrace(true);

        try (ReferenceExecutor reference = new ReferenceExecutor(split.logical(), 7);
                ParallelExecutor dataflow = new ParallelExecutor(split, 7, options);
                ParallelExecutor scheduled = new ParallelExecutor(split, 7, options.withSchedule(schedule))) {
            assertEquals(layout.stages, scheduled.plan().orders().size(), "every device follows an order");
            assertTrue(dataflow.plan().orders().isEmpty());
            Tolerance.EXACT.requireClose("gradients before training", reference.gradients(data.get(0)),
                    scheduled.gradients(data.get(0)));

            List<StepResult> expected = reference(reference, data, rates);
            List<StepResult> actual = scheduled.run(data, rates);
            requireSameTraining(Tolerance.EXACT, expected, actual, parametersAndState(reference),
                    parametersAndState(scheduled));
            requireFollowedItsOrders(scheduled, ITERATIONS);

            requireSameTraining(Tolerance.EXACT, dataflow.run(data, rates), actual, parametersAndState(dataflow),
                    parametersAndState(scheduled));
        }
    }

    /** The GPT stack in four stages (embeddings | block0 | block1 | final norm and head) on two devices. */
    enum Chunked {
        ZB_V(Schedules::zbV), INTERLEAVED_ONE_F_ONE_B((devices, microBatches) ->
                Schedules.interleavedOneFOneB(devices, microBatches, 2));

        final BiFunction<Integer, Integer, PipelineSchedule> build;

        Chunked(BiFunction<Integer, Integer, PipelineSchedule> build) {
            this.build = build;
        }
    }

    @ParameterizedTest(name = "{0}, {1} micro-batches")
    @CsvSource({"ZB_V, 4", "ZB_V, 8", "INTERLEAVED_ONE_F_ONE_B, 4", "INTERLEAVED_ONE_F_ONE_B, 8"})
    void shouldTrainTheGptStackWithTwoStagesPerDeviceExactlyLikeTheReference(Chunked family, int microBatches) {
        PipelineSchedule schedule = family.build.apply(2, microBatches);
        TrainingGraph graph = TrainingModels.gpt(microBatches, adamW(), 1.0);
        Map<String, Integer> stageOfOp = new LinkedHashMap<>();
        DistributedTraining split = chunks(graph, schedule, Map.of("block0.", 1, "block1.", 2, "ln_final.", 3,
                "head.", 3), stageOfOp);
        List<List<Map<String, HostTensor>>> data = batches(true, ITERATIONS, microBatches, 42);
        double[] rates = learningRates(ITERATIONS);

        try (ReferenceExecutor reference = new ReferenceExecutor(graph, 7);
                ParallelExecutor scheduled = new ParallelExecutor(split, 7,
                        ActorExecutorOptions.defaults().withTrace(true).withSchedule(schedule, stageOfOp))) {
            assertEquals(2, split.devices().size());
            // the head (stage 3) runs on device 0 in the V, on device 1 when the stages loop
            scheduled.physicalOp("head.matmul", new DeviceId(0, schedule.deviceOf(3)));
            scheduled.physicalOp("block1.fc.matmul", new DeviceId(0, schedule.deviceOf(2)));
            Tolerance.EXACT.requireClose("gradients before training", reference.gradients(data.get(0)),
                    scheduled.gradients(data.get(0)));
            List<StepResult> expected = reference(reference, data, rates);
            List<StepResult> actual = scheduled.run(data, rates);
            requireSameTraining(Tolerance.EXACT, expected, actual, parametersAndState(reference),
                    parametersAndState(scheduled));
            requireFollowedItsOrders(scheduled, ITERATIONS);
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"ONE_F_ONE_B", "ONE_F_ONE_B_TWO_BP", "ZB_H1", "ZB_H2"})
    void shouldTrainTwoDataParallelStagesFollowingTheirStagesScheduleBitForBitLikeTheDataflowRun(Family family) {
        int microBatches = 4;
        TrainingGraph graph = TrainingModels.gpt(2, microBatches, adamW(), 1.0);
        // data 2 x pipeline 2: the embeddings and block 0 on devices 0:0-0:1, the rest on 0:2-0:3
        Placement first = Placement.of(List.of(new DeviceId(0, 0), new DeviceId(0, 1)), 2);
        Placement second = Placement.of(List.of(new DeviceId(0, 2), new DeviceId(0, 3)), 2);
        Map<Op, Placement> byOp = new StageRules(Map.of("block1.", second, "ln_final.", second, "head.", second))
                .resolve(graph.ops(), first);
        Map<String, Integer> stageOfOp = new LinkedHashMap<>();
        graph.ops().forEach(op -> stageOfOp.put(op.name(), byOp.containsKey(op) ? 1 : 0));
        Map<dev.tessera.graph.Tensor, dev.tessera.sbp.NdSbp> hints = new LinkedHashMap<>();
        for (String input : List.of("tokens", "targets")) {
            hints.put(graph.forward().store().tensor(input), dev.tessera.sbp.NdSbp.of(dev.tessera.sbp.Sbp.split(0)));
        }
        DistributedTraining layout = DistributedTraining.plan(graph, first, byOp, hints, CostModel.standard());
        trainTwoParallelStagesLikeTheDataflowRun(graph, layout, stageOfOp, family, true, microBatches,
                (reference, expected, actual, scheduled) -> {
                    for (int t = 0; t < ITERATIONS; t++) {
                        Tolerance.of(dev.tessera.graph.DType.F32).requireClose("loss of iteration " + t,
                                expected.get(t).loss(), actual.get(t).loss());
                    }
                });
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"GPIPE", "ONE_F_ONE_B", "ZB_H1", "ZB_H2"})
    void shouldTrainTwoTensorParallelStagesFollowingTheirStagesScheduleBitForBitLikeTheDataflowRun(Family family) {
        int microBatches = 4;
        TrainingGraph graph = TrainingModels.mlp(microBatches, adamW(), 0.5);
        // tensor 2 x pipeline 2: fc1 column- and fc2 row-parallel on devices 0:0-0:1, the head on 0:2-0:3
        Placement first = Placement.of(List.of(new DeviceId(0, 0), new DeviceId(0, 1)), 2);
        Placement second = Placement.of(List.of(new DeviceId(0, 2), new DeviceId(0, 3)), 2);
        Map<Op, Placement> byOp = new StageRules(Map.of("head.", second)).resolve(graph.ops(), first);
        Map<String, Integer> stageOfOp = new LinkedHashMap<>();
        graph.ops().forEach(op -> stageOfOp.put(op.name(), byOp.containsKey(op) ? 1 : 0));
        Map<dev.tessera.graph.Tensor, dev.tessera.sbp.NdSbp> hints = new LinkedHashMap<>();
        Map.of("fc1.weight", dev.tessera.sbp.Sbp.split(1), "fc1.bias", dev.tessera.sbp.Sbp.split(0), "fc2.weight",
                dev.tessera.sbp.Sbp.split(0)).forEach((name, sbp) -> hints.put(graph.forward().store().tensor(name),
                        dev.tessera.sbp.NdSbp.of(sbp)));
        DistributedTraining layout = DistributedTraining.plan(graph, first, byOp, hints, CostModel.standard());
        trainTwoParallelStagesLikeTheDataflowRun(graph, layout, stageOfOp, family, false, microBatches,
                (reference, expected, actual, scheduled) -> requireSameTraining(Tolerance.of(dev.tessera.graph.DType.F64),
                        expected, actual, parametersAndState(reference), parametersAndState(scheduled)));
    }

    /** What a two-stage layout of 4 devices is held to against the reference, after it trained. */
    @FunctionalInterface
    private interface ReferenceCheck {
        void check(ReferenceExecutor reference, List<StepResult> expected, List<StepResult> actual,
                ParallelExecutor scheduled);
    }

    /**
     * Trains {@code layout} (2 stages of 2 devices) with {@code family}'s schedule: every device
     * follows its stage's list, bit for bit like the dataflow run, then {@code check} against the reference.
     */
    private static void trainTwoParallelStagesLikeTheDataflowRun(TrainingGraph graph, DistributedTraining layout,
            Map<String, Integer> stageOfOp, Family family, boolean gpt, int microBatches, ReferenceCheck check) {
        assertEquals(4, layout.devices().size());
        PipelineSchedule schedule = family.build.apply(2, microBatches);
        List<List<Map<String, HostTensor>>> data = batches(gpt, ITERATIONS, microBatches, 42);
        double[] rates = learningRates(ITERATIONS);
        ActorExecutorOptions options = ActorExecutorOptions.defaults().withTrace(true);

        try (ReferenceExecutor reference = new ReferenceExecutor(graph, 7);
                ParallelExecutor dataflow = new ParallelExecutor(layout, 7, options);
                ParallelExecutor scheduled = new ParallelExecutor(layout, 7, options.withSchedule(schedule, stageOfOp))) {
            assertEquals(4, scheduled.plan().orders().size(), "both devices of each stage follow its list");
            List<StepResult> actual = scheduled.run(data, rates);
            requireFollowedItsOrders(scheduled, ITERATIONS);
            requireSameTraining(Tolerance.EXACT, dataflow.run(data, rates), actual, parametersAndState(dataflow),
                    parametersAndState(scheduled));
            check.check(reference, reference(reference, data, rates), actual, scheduled);
        }
    }

    /**
     * Stage s of {@code byPrefix} (resolved as {@link StageRules} resolves placements: gradient and
     * update ops with their forward op) on the schedule's device of s; {@code stageOfOp} receives
     * every logical op's stage.
     */
    static DistributedTraining chunks(TrainingGraph graph, PipelineSchedule schedule,
                                              Map<String, Integer> byPrefix, Map<String, Integer> stageOfOp) {
        Map<String, Placement> markers = new LinkedHashMap<>();
        byPrefix.forEach((prefix, stage) -> markers.put(prefix, marker(stage)));
        Map<Op, Placement> resolved = new StageRules(markers).resolve(graph.ops(), marker(0));
        Map<Op, Placement> devices = new LinkedHashMap<>();
        for (Op op : graph.ops()) {
            int stage = resolved.containsKey(op) ? resolved.get(op).device(0).device() : 0;
            stageOfOp.put(op.name(), stage);
            devices.put(op, device(schedule.deviceOf(stage)));
        }
        return DistributedTraining.plan(graph, device(0), devices, Map.of(), CostModel.standard());
    }

    /** A placement standing for stage {@code stage} while the rules resolve (never lowered). */
    private static Placement marker(int stage) {
        return Placement.of(List.of(new DeviceId(99, stage)), 1, 1);
    }

    private static Placement device(int index) {
        return Placement.of(List.of(new DeviceId(0, index)), 1, 1);
    }

    @Test
    void shouldTrainBitForBitAlikeUnderTwoSchedulesThatOnlyReorderTheSameArithmetic() {
        DistributedTraining split = Layout.GPT_TWO_STAGES.split(8);
        List<List<Map<String, HostTensor>>> data = batches(true, ITERATIONS, 8, 5);
        double[] rates = learningRates(ITERATIONS);
        ActorExecutorOptions options = ActorExecutorOptions.defaults();
        try (ParallelExecutor gpipe = new ParallelExecutor(split, 7, options.withSchedule(Schedules.gpipe(2, 8)));
                ParallelExecutor zeroBubble = new ParallelExecutor(split, 7, options.withSchedule(Schedules.zbH2(2, 8)))) {
            requireSameTraining(Tolerance.EXACT, gpipe.run(data, rates), zeroBubble.run(data, rates),
                    parametersAndState(gpipe), parametersAndState(zeroBubble));
        }
    }

    @Test
    void shouldGiveGPipeOneRegisterPerMicroBatchForAnActivationKeptUntilItsBackward() {
        DistributedTraining split = Layout.MLP_TWO_STAGES.split(4);
        try (ParallelExecutor gpipe = new ParallelExecutor(split, 7,
                ActorExecutorOptions.defaults().withSchedule(Schedules.gpipe(2, 4)));
                ParallelExecutor oneFOneB = new ParallelExecutor(split, 7,
                        ActorExecutorOptions.defaults().withSchedule(Schedules.oneFOneB(2, 4)))) {
            // tanh's output, read by its own gradient op on stage 0 and by both of stage 1's fc2 ops
            String tanh = "tanh@0:0";
            assertEquals(4, quota(gpipe.compiledPlan(), tanh), "GPipe holds all 4 micro-batches");
            int quota = quota(oneFOneB.compiledPlan(), tanh);
            assertTrue(quota >= 2 && quota < 4, "1F1B holds the 2 micro-batches of its warm-up, plus at most one "
                    + "that stage 1's W still reads through the transfer, got " + quota);
        }
    }

    @Test
    void shouldRejectAScheduleThatRunsABackwardBeforeItsForward() {
        PipelineSchedule good = Schedules.oneFOneB(2, 4);
        List<List<Action>> edited = new ArrayList<>(good.actionsPerDevice());
        List<Action> device1 = new ArrayList<>(edited.get(1));
        device1.set(0, device1.get(1));
        device1.set(1, good.actions(1).get(0));
        edited.set(1, device1);
        PipelineSchedule backwardFirst = new PipelineSchedule(good.deviceOfStage(), 4, edited);
        DistributedTraining split = Layout.MLP_TWO_STAGES.split(4);

        InvalidScheduleException error = assertThrows(InvalidScheduleException.class, () -> new ParallelExecutor(split,
                7, ActorExecutorOptions.defaults().withSchedule(backwardFirst)));
        assertTrue(error.getMessage().contains("1BW0"), error.getMessage());
    }

    @Test
    void shouldRejectAScheduleForAnotherNumberOfMicroBatchesOrStages() {
        DistributedTraining split = Layout.MLP_TWO_STAGES.split(4);
        IllegalArgumentException microBatches = assertThrows(IllegalArgumentException.class, () ->
                new ParallelExecutor(split, 7, ActorExecutorOptions.defaults().withSchedule(Schedules.oneFOneB(2, 8))));
        assertTrue(microBatches.getMessage().contains("runs 8 micro-batches but the plan trains 4"),
                microBatches.getMessage());
        IllegalArgumentException devices = assertThrows(IllegalArgumentException.class, () ->
                new ParallelExecutor(split, 7, ActorExecutorOptions.defaults().withSchedule(Schedules.oneFOneB(3, 4))));
        assertTrue(devices.getMessage().contains("runs on 3 devices but the plan has 2"), devices.getMessage());
        IllegalArgumentException chunks = assertThrows(IllegalArgumentException.class, () ->
                new ParallelExecutor(split, 7, ActorExecutorOptions.defaults().withSchedule(Schedules.zbV(2, 4))));
        assertTrue(chunks.getMessage().contains("but op 'fc1.matmul@0:0' has no stage"), chunks.getMessage());
    }

    @Test
    void shouldReportAnOrderWithABackwardActorBeforeItsForwardAsADeadlockNotAHang() {
        DistributedTraining split = Layout.MLP_TWO_STAGES.split(4);
        ActorExecutorOptions options = ActorExecutorOptions.defaults().withSchedule(Schedules.oneFOneB(2, 4));
        // the last stage's first action moved behind its first backward action: it waits for the loss that waits for it
        try (ParallelExecutor edited = new ParallelExecutor(split, 7, options,
                PipelineScheduleTrainingTest::firstBackwardFirst)) {
            DeadlockException error = assertThrows(DeadlockException.class,
                    () -> edited.run(batches(false, 1, 4, 42), learningRates(1)));
            assertFalse(error.blocked().isEmpty(), error.getMessage());
        }
    }

    /** Device 1's order with its first backward-input action that reads a forward output moved to the front. */
    private static PlanProto firstBackwardFirst(PlanProto plan) {
        PlanProto.Builder edited = plan.toBuilder();
        for (int i = 0; i < plan.getActionOrdersCount(); i++) {
            DeviceActionOrder order = plan.getActionOrders(i);
            if (order.getDevice() != 1) {
                continue;
            }
            List<ActionProto> actions = new ArrayList<>(order.getActionsList());
            int backward = 0;
            while (!readsAForwardOutput(plan, actions.get(backward).getActor())) {
                backward++;
            }
            actions.add(0, actions.remove(backward));
            edited.setActionOrders(i, order.toBuilder().clearActions().addAllActions(actions));
        }
        return edited.build();
    }

    private static boolean readsAForwardOutput(PlanProto plan, int actor) {
        return plan.getActors(actor).getPhase() == Phase.BACKWARD_INPUT && plan.getActors(actor).getInputsList()
                .stream().anyMatch(input -> plan.getActors(input.getProducer()).getPhase() == Phase.FORWARD);
    }

    /** Each device's trace, in the order it acted, is its action order once per iteration. */
    private static void requireFollowedItsOrders(ParallelExecutor executor, int iterations) {
        Trace trace = executor.lastTrace().orElseThrow();
        int microBatches = executor.compiledPlan().getMicroBatches();
        for (ActionOrder order : executor.plan().orders()) {
            DeviceTraceBuffer buffer = trace.buffer(order.device());
            assertEquals(0, buffer.dropped());
            assertEquals(iterations * order.actions().size(), buffer.size(), "actions of device " + order.device());
            for (int i = 0; i < buffer.size(); i++) {
                OrderedAction expected = order.actions().get(i % order.actions().size());
                int microBatch = (int) (buffer.step(i) % microBatches);
                assertEquals(expected.actor() + "/" + expected.microBatch(), buffer.actor(i) + "/" + microBatch,
                        "action " + i + " of device " + order.device());
            }
        }
    }

    private static int quota(PlanProto plan, String actor) {
        return plan.getActorsList().stream().filter(a -> a.getName().equals(actor)).findFirst().orElseThrow()
                .getOutputs(0).getQuota();
    }
}
