package dev.tessera.plan.compile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.autodiff.MiniatureModels;
import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.graph.Op;
import dev.tessera.lowering.DistributedTraining;
import dev.tessera.optim.Optimizer;
import dev.tessera.plan.schedule.Action;
import dev.tessera.plan.schedule.ActionKind;
import dev.tessera.plan.schedule.PipelineSchedule;
import dev.tessera.plan.schedule.ScheduleName;
import dev.tessera.plan.simulate.CostModel;
import dev.tessera.plan.simulate.StageCosts;
import dev.tessera.proto.graph.Phase;
import dev.tessera.proto.plan.ActionProto;
import dev.tessera.proto.plan.ActorKind;
import dev.tessera.proto.plan.ActorProto;
import dev.tessera.proto.plan.DeviceActionOrder;
import dev.tessera.proto.plan.PlanProto;
import dev.tessera.sbp.DeviceId;
import dev.tessera.sbp.Placement;
import dev.tessera.sbp.infer.StageRules;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The plan compiler's expansion of a pipeline schedule: each device's order, read back as the
 * schedule actions its F/B/W actors belong to, is the schedule's list; every actor acts once per
 * micro-batch in increasing order; a transfer acts within the schedule action of its first
 * consumer, right before it; the update actors come last. Layouts that do not match are refused.
 */
class ScheduleOrdersTest {
    private static final Optimizer ADAM = new Optimizer.AdamW(0.9, 0.95, 1e-8, 0.1);

    static Stream<Arguments> cases() {
        List<Arguments> cases = new ArrayList<>();
        for (ScheduleName name : ScheduleName.values()) {
            if (!name.oneStagePerDevice() || name == ScheduleName.AUTO) {
                continue;
            }
            for (int microBatches : new int[] {1, 3, 4, 8}) {
                cases.add(Arguments.of(name, false, 3, microBatches));
                cases.add(Arguments.of(name, true, 4, microBatches));
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0}, gpt {1}, {2} stages, {3} micro-batches")
    @MethodSource("cases")
    void shouldExpandEveryScheduleActionIntoItsStagesActorsInTheSchedulesOrder(ScheduleName name, boolean gpt,
            int stages, int microBatches) {
        DistributedTraining layout = layout(gpt, stages, microBatches);
        PipelineSchedule schedule = name.build(stages, microBatches, 1);
        PlanProto plan = PlanCompiler.compile(layout, PlanOptions.of(1, 2).withSchedule(schedule));

        assertEquals(stages, plan.getActionOrdersCount());
        for (DeviceActionOrder order : plan.getActionOrdersList()) {
            int device = order.getDevice();
            requireEveryActorOncePerMicroBatchInIncreasingOrder(plan, order);
            assertEquals(texts(schedule.computeActions(device)), scheduleActionsOf(plan, schedule, order),
                    "device " + device);
            requireTransfersRightBeforeTheirFirstConsumer(plan, schedule, order);
            requireUpdatesLast(plan, order);
        }
    }

    @ParameterizedTest(name = "{0}, {1} micro-batches")
    @CsvSource({"ZB_V, 4", "ZB_V, 5", "INTERLEAVED_ONE_F_ONE_B, 4", "INTERLEAVED_ONE_F_ONE_B, 8"})
    void shouldExpandEachActionOfASchedulesWithTwoStagesPerDeviceIntoThatStagesActors(ScheduleName name,
            int microBatches) {
        PipelineSchedule schedule = name.build(2, microBatches, 2);
        TrainingGraph graph = MiniatureModels.gpt(2, microBatches, ADAM, 1.0);
        Map<String, Placement> markers = new LinkedHashMap<>();
        Map.of("block0.", 1, "block1.", 2, "ln_final.", 3, "head.", 3).forEach((prefix, stage) ->
                markers.put(prefix, Placement.of(List.of(new DeviceId(99, stage)), 1)));
        Map<Op, Placement> resolved = new StageRules(markers).resolve(graph.ops(), device(99));
        Map<Op, Placement> byOp = new LinkedHashMap<>();
        Map<String, Integer> logicalStages = new LinkedHashMap<>();
        for (Op op : graph.ops()) {
            int stage = resolved.containsKey(op) ? resolved.get(op).device(0).device() : 0;
            logicalStages.put(op.name(), stage);
            byOp.put(op, device(schedule.deviceOf(stage)));
        }
        DistributedTraining layout = DistributedTraining.plan(graph, device(0), byOp, Map.of(),
                dev.tessera.sbp.infer.CostModel.standard());
        Map<String, Integer> stageOfOp = new LinkedHashMap<>();
        for (Op op : layout.physical().ops()) {
            int at = op.name().lastIndexOf('@');
            Integer stage = logicalStages.get(at < 0 ? op.name() : op.name().substring(0, at));
            if (stage != null) {
                stageOfOp.put(op.name(), stage);
            }
        }
        PlanProto plan = PlanCompiler.compile(layout, PlanOptions.of(1, 2).withSchedule(schedule, stageOfOp));

        assertEquals(2, plan.getActionOrdersCount());
        for (DeviceActionOrder order : plan.getActionOrdersList()) {
            requireEveryActorOncePerMicroBatchInIncreasingOrder(plan, order);
            List<String> expanded = new ArrayList<>();
            for (ActionProto action : order.getActionsList()) {
                ActorProto actor = plan.getActors(action.getActor());
                if (actor.hasCompute() && stageOfOp.containsKey(actor.getCompute().getGraphOp())) {
                    String text = scheduleAction(plan, schedule, stageOfOp.get(actor.getCompute().getGraphOp()),
                            action);
                    if (text != null && (expanded.isEmpty() || !expanded.get(expanded.size() - 1).equals(text))) {
                        expanded.add(text);
                    }
                }
            }
            assertEquals(texts(schedule.computeActions(order.getDevice())), expanded, "device " + order.getDevice());
        }
        IllegalArgumentException unstaged = assertThrows(IllegalArgumentException.class, () ->
                PlanCompiler.compile(layout, PlanOptions.of(1, 2).withSchedule(schedule)));
        assertTrue(unstaged.getMessage().contains("has no stage"), unstaged.getMessage());
    }

    @Test
    void shouldCompileNoOrdersWithoutASchedule() {
        assertEquals(0, PlanCompiler.compile(layout(false, 2, 4), PlanOptions.of(1, 2)).getActionOrdersCount());
    }

    @Test
    void shouldRejectAScheduleWhoseStagesRunAgainstTheForwardPass() {
        PipelineSchedule forward = ScheduleName.ONE_F_ONE_B.build(2, 4, 1);
        // stage 0 on device 1 and stage 1 on device 0: device 0's layout stage would wait for device 1's
        PipelineSchedule reversed = new PipelineSchedule(List.of(1, 0), 4, List.of(forward.actions(1),
                forward.actions(0)));
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class, () ->
                PlanCompiler.compile(layout(false, 2, 4), PlanOptions.of(1, 2).withSchedule(reversed)));
        assertTrue(error.getMessage().contains("numbers its stages against the forward pass"), error.getMessage());
    }

    @Test
    void shouldRejectAStageThatRunsItsMicroBatchesOutOfOrder() {
        PipelineSchedule gpipe = ScheduleName.GPIPE.build(2, 2, 1);
        List<List<Action>> lists = new ArrayList<>(gpipe.actionsPerDevice());
        List<Action> swapped = new ArrayList<>(lists.get(1));
        // device 1: 1F1 1F0 1BW0 1BW1 is a valid schedule, but an op cannot run micro-batch 1 before 0
        swapped.set(0, lists.get(1).get(1));
        swapped.set(1, lists.get(1).get(0));
        lists.set(1, swapped);
        PipelineSchedule outOfOrder = new PipelineSchedule(gpipe.deviceOfStage(), 2, lists);
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class, () ->
                PlanCompiler.compile(layout(false, 2, 2), PlanOptions.of(1, 2).withSchedule(outOfOrder)));
        assertTrue(error.getMessage().contains("runs 1F1 before 1F0 on device 1"), error.getMessage());
    }

    @Test
    void shouldParseEveryScheduleNameAndListTheValidOnesForAnUnknownOne() {
        for (ScheduleName name : ScheduleName.values()) {
            assertEquals(name, ScheduleName.parse(name.configName().toUpperCase(java.util.Locale.ROOT)));
        }
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class, () -> ScheduleName.parse("1f2b"));
        assertTrue(error.getMessage().contains("choose one of gpipe, 1f1b, 1f1b-2bp"), error.getMessage());
    }

    @Test
    void shouldModelEachStagesForwardBackwardAndWeightTimesFromItsOps() {
        CostModel costs = StageCosts.of(layout(true, 2, 4), dev.tessera.sbp.infer.CostModel.standard());
        assertEquals(2, costs.stages());
        for (int stage = 0; stage < 2; stage++) {
            assertTrue(costs.forward().get(stage) > 0 && costs.backwardInput().get(stage) > 0
                    && costs.backwardWeight().get(stage) > 0, costs.toString());
        }
    }

    /** The MLP on 2 or 3 stages (fc1 | fc2 | head) or the GPT stack on 2 or 4 (embeddings | block0 | block1 | head). */
    static DistributedTraining layout(boolean gpt, int stages, int microBatches) {
        TrainingGraph graph = gpt ? MiniatureModels.gpt(2, microBatches, ADAM, 1.0)
                : MiniatureModels.mlp(6, microBatches, ADAM, 0.5);
        Map<String, Integer> stageByPrefix = switch ((gpt ? "gpt " : "mlp ") + stages) {
            case "mlp 2" -> Map.of("fc2.", 1, "head.", 1);
            case "mlp 3" -> Map.of("fc2.", 1, "head.", 2);
            case "gpt 2" -> Map.of("block1.", 1, "ln_final.", 1, "head.", 1);
            case "gpt 4" -> Map.of("block0.", 1, "block1.", 2, "ln_final.", 3, "head.", 3);
            default -> throw new IllegalArgumentException("no such layout: " + stages + " stages");
        };
        Map<String, Placement> rules = new LinkedHashMap<>();
        stageByPrefix.forEach((prefix, stage) -> rules.put(prefix, device(stage)));
        Map<Op, Placement> byOp = new StageRules(rules).resolve(graph.ops(), device(0));
        DistributedTraining layout = DistributedTraining.plan(graph, device(0), byOp, Map.of(),
                dev.tessera.sbp.infer.CostModel.standard());
        assertEquals(stages, layout.devices().size());
        return layout;
    }

    private static Placement device(int index) {
        return Placement.of(List.of(new DeviceId(0, index)), 1);
    }

    private static List<String> texts(List<Action> actions) {
        return actions.stream().map(Action::toString).toList();
    }

    /** The schedule action each F/B/W actor's action belongs to, consecutive repeats merged. */
    private static List<String> scheduleActionsOf(PlanProto plan, PipelineSchedule schedule, DeviceActionOrder order) {
        int stage = schedule.stagesOf(order.getDevice()).get(0);
        List<String> out = new ArrayList<>();
        for (ActionProto action : order.getActionsList()) {
            String text = scheduleAction(plan, schedule, stage, action);
            if (text != null && (out.isEmpty() || !out.get(out.size() - 1).equals(text))) {
                out.add(text);
            }
        }
        return out;
    }

    private static String scheduleAction(PlanProto plan, PipelineSchedule schedule, int stage, ActionProto action) {
        Phase phase = plan.getActors(action.getActor()).getPhase();
        int j = action.getMicroBatch();
        boolean fused = schedule.computeActions(schedule.deviceOf(stage)).contains(Action.fullBackward(stage, j));
        return switch (phase) {
            case FORWARD -> new Action(ActionKind.FORWARD, stage, j).toString();
            case BACKWARD_INPUT -> (fused ? Action.fullBackward(stage, j) : Action.backwardInput(stage, j)).toString();
            case BACKWARD_WEIGHT -> (fused ? Action.fullBackward(stage, j) : Action.backwardWeight(stage, j)).toString();
            default -> null;
        };
    }

    private static void requireEveryActorOncePerMicroBatchInIncreasingOrder(PlanProto plan, DeviceActionOrder order) {
        int[] next = new int[plan.getActorsCount()];
        for (ActionProto action : order.getActionsList()) {
            ActorProto actor = plan.getActors(action.getActor());
            assertEquals(order.getDevice(), actor.getDevice(), actor.getName());
            assertEquals(next[actor.getId()], action.getMicroBatch(), actor.getName());
            next[actor.getId()]++;
        }
        for (ActorProto actor : plan.getActorsList()) {
            if (actor.getDevice() == order.getDevice()) {
                assertEquals(plan.getMicroBatches(), next[actor.getId()], actor.getName());
            }
        }
    }

    /** Between a transfer and its first consumer on the device, only actions of that consumer's schedule action. */
    private static void requireTransfersRightBeforeTheirFirstConsumer(PlanProto plan, PipelineSchedule schedule,
            DeviceActionOrder order) {
        int stage = schedule.stagesOf(order.getDevice()).get(0);
        List<ActionProto> actions = order.getActionsList();
        for (int i = 0; i < actions.size(); i++) {
            ActorProto transfer = plan.getActors(actions.get(i).getActor());
            if (transfer.getKind() != ActorKind.TRANSFER) {
                continue;
            }
            int consumer = i + 1;
            while (consumer < actions.size() && !(actions.get(consumer).getMicroBatch() == actions.get(i).getMicroBatch()
                    && reads(plan.getActors(actions.get(consumer).getActor()), transfer.getId()))) {
                consumer++;
            }
            assertTrue(consumer < actions.size(), transfer.getName() + " has a consumer after it");
            String target = scheduleAction(plan, schedule, stage, actions.get(consumer));
            for (int k = i + 1; k < consumer && target != null; k++) {
                String between = scheduleAction(plan, schedule, stage, actions.get(k));
                assertTrue(between == null || between.equals(target), transfer.getName() + " for micro-batch "
                        + actions.get(i).getMicroBatch() + " acts before " + between + ", not right before " + target);
            }
        }
    }

    private static boolean reads(ActorProto actor, int producer) {
        return actor.getInputsList().stream().anyMatch(input -> input.getProducer() == producer)
                || actor.getControlPredecessorsList().contains(producer);
    }

    private static void requireUpdatesLast(PlanProto plan, DeviceActionOrder order) {
        boolean updating = false;
        for (ActionProto action : order.getActionsList()) {
            Phase phase = plan.getActors(action.getActor()).getPhase();
            if (phase == Phase.UPDATE) {
                updating = true;
            } else if (updating) {
                assertTrue(phase == Phase.PHASE_UNSPECIFIED, "a " + phase + " actor '"
                        + plan.getActors(action.getActor()).getName() + "' after the updates began");
            }
        }
    }
}
