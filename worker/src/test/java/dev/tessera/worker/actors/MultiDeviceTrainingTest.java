package dev.tessera.worker.actors;

import static dev.tessera.worker.actors.TrainingModels.adamW;
import static dev.tessera.worker.actors.TrainingModels.batches;
import static dev.tessera.worker.actors.TrainingModels.learningRates;
import static dev.tessera.worker.actors.TrainingModels.parametersAndState;
import static dev.tessera.worker.actors.TrainingModels.reference;
import static dev.tessera.worker.actors.TrainingModels.requireSameTraining;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.graph.Op;
import dev.tessera.lowering.DistributedTraining;
import dev.tessera.runtime.plan.ActorKind;
import dev.tessera.runtime.plan.ActorSpec;
import dev.tessera.runtime.trace.Trace;
import dev.tessera.runtime.trace.TraceEvent;
import dev.tessera.sbp.DeviceId;
import dev.tessera.sbp.Placement;
import dev.tessera.sbp.infer.CostModel;
import dev.tessera.sbp.infer.StageRules;
import dev.tessera.tensor.HostTensor;
import dev.tessera.tensor.Tolerance;
import dev.tessera.worker.exec.ReferenceExecutor;
import dev.tessera.worker.exec.StepResult;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A model split by hand over local virtual devices: pipeline stages of one device each
 * ({@code parallel.pipeline} with {@code parallel.stages}, data = tensor = 1), two for the halves
 * of a model and three for random splits, train exactly like the reference executor
 * (Tolerance.EXACT): every op runs the same kernel on the same values in the same order, only on
 * another device, and tensors crossing devices are copied whole.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class MultiDeviceTrainingTest {
    private static final int ITERATIONS = 4;

    @ParameterizedTest(name = "{0} micro-batches, register quota {1}")
    @CsvSource({"1, 1", "2, 1", "2, 2"})
    void shouldTrainTheMlpSplitOverTwoDevicesLikeTheReference(int microBatches, int quota) {
        TrainingGraph graph = TrainingModels.mlp(microBatches, adamW(), 0.5);
        DistributedTraining split = stages(graph, 2, Map.of("fc2.", 1, "head.", 1));
        assertTrainsLikeReference(split, false, microBatches, ActorExecutorOptions.defaults().withRegisterQuota(quota));
    }

    @ParameterizedTest(name = "{0} micro-batches, register quota {1}")
    @CsvSource({"1, 1", "2, 1", "2, 2"})
    void shouldTrainTheGptStackSplitOverTwoDevicesLikeTheReference(int microBatches, int quota) {
        TrainingGraph graph = TrainingModels.gpt(microBatches, adamW(), 1.0);
        DistributedTraining split = stages(graph, 2, Map.of("block1.", 1, "ln_final.", 1, "head.", 1));
        assertTrainsLikeReference(split, true, microBatches, ActorExecutorOptions.defaults().withRegisterQuota(quota));
    }

    @Test
    void shouldTrainLikeTheReferenceWhateverTheStageOfEachForwardOp() {
        for (int seed = 0; seed < 4; seed++) {
            boolean gpt = seed % 2 == 1;
            int microBatches = 1 + seed % 3;
            TrainingGraph graph = gpt ? TrainingModels.gpt(microBatches, adamW(), 1.0)
                    : TrainingModels.mlp(microBatches, adamW(), 0.5);
            // every forward op named on a random stage of three; its gradient and update ops follow it
            Random random = new Random(seed);
            Map<String, Integer> byName = new LinkedHashMap<>();
            for (Op op : graph.forwardOps()) {
                byName.put(op.name(), random.nextInt(3));
            }
            byName.put(graph.forwardOps().get(0).name(), 1);
            byName.put(graph.forwardOps().get(1).name(), 2);
            assertTrainsLikeReference(stages(graph, 3, byName), gpt, microBatches,
                    ActorExecutorOptions.defaults().withRegisterQuota(1 + seed % 2));
        }
    }

    @Test
    void shouldRunEachStageOnItsOwnDeviceWithTransfersBetween() {
        TrainingGraph graph = TrainingModels.gpt(2, adamW(), 1.0);
        DistributedTraining split = stages(graph, 2, Map.of("block1.", 1, "ln_final.", 1, "head.", 1));
        try (ParallelExecutor actors = new ParallelExecutor(split, 7, ActorExecutorOptions.defaults().withTrace(true))) {
            actors.run(batches(true, 2, 2, 1), learningRates(2));
            List<ActorSpec> plan = actors.plan().actors();
            for (Op op : graph.forwardOps()) {
                boolean secondHalf = op.name().startsWith("block1.") || op.name().startsWith("head.")
                        || op.name().startsWith("ln_final.");
                boolean firstHalf = op.name().startsWith("block0.") || op.name().startsWith("token_embedding.");
                if (secondHalf || firstHalf) {
                    DeviceId device = new DeviceId(0, secondHalf ? 1 : 0);
                    String name = actors.physicalOp(op.name(), device).name();
                    // a reshape folded into its consumers has no actor of its own
                    plan.stream().filter(a -> a.name().equals(name)).findFirst().ifPresent(actor ->
                            assertEquals(secondHalf ? 1 : 0, actor.device(), actor.name()));
                }
            }
            assertTrue(plan.stream().filter(a -> a.kind() == ActorKind.TRANSFER).count() >= 2,
                    "activations and gradients cross between the halves");
            Trace trace = actors.lastTrace().orElseThrow();
            Set<Integer> devicesActing = trace.events().stream().map(TraceEvent::device)
                    .map(device -> device.index()).collect(Collectors.toSet());
            assertEquals(Set.of(0, 1), devicesActing);
        }
    }

    /**
     * The layout {@code parallel.pipeline = count} with {@code parallel.stages = byPrefix} gives
     * (data = tensor = 1): stage s on device 0:s alone.
     */
    static DistributedTraining stages(TrainingGraph graph, int count, Map<String, Integer> byPrefix) {
        Map<String, Placement> rules = new LinkedHashMap<>();
        byPrefix.forEach((prefix, stage) -> rules.put(prefix, stage(stage)));
        Map<Op, Placement> stages = new StageRules(rules).resolve(graph.ops(), stage(0));
        DistributedTraining plan = DistributedTraining.plan(graph, stage(0), stages, Map.of(), CostModel.standard());
        assertTrue(plan.devices().size() <= count, "stages on at most " + count + " devices");
        return plan;
    }

    private static Placement stage(int index) {
        return Placement.of(List.of(new DeviceId(0, index)), 1, 1);
    }

    private static void assertTrainsLikeReference(DistributedTraining plan, boolean gpt, int microBatches,
                                                  ActorExecutorOptions options) {
        TrainingGraph graph = plan.logical();
        List<List<Map<String, HostTensor>>> data = batches(gpt, ITERATIONS, microBatches, 42);
        double[] rates = learningRates(ITERATIONS);
        try (ReferenceExecutor reference = new ReferenceExecutor(graph, 7);
                ParallelExecutor actors = new ParallelExecutor(plan, 7, options)) {
            List<StepResult> expected = reference(reference, data, rates);
            List<StepResult> actual = actors.run(data, rates);
            requireSameTraining(Tolerance.EXACT, expected, actual, parametersAndState(reference),
                    parametersAndState(actors));
        }
    }
}
