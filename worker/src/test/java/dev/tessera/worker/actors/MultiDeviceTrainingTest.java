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
import dev.tessera.runtime.plan.ActorKind;
import dev.tessera.runtime.plan.ActorSpec;
import dev.tessera.runtime.trace.Trace;
import dev.tessera.runtime.trace.TraceEvent;
import dev.tessera.tensor.HostTensor;
import dev.tessera.tensor.Tolerance;
import dev.tessera.worker.exec.ReferenceExecutor;
import dev.tessera.worker.exec.StepResult;
import java.util.HashMap;
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
 * Local virtual devices: a manual split of a model over two devices, and random placements over
 * three, train exactly like the reference executor (Tolerance.EXACT): every op runs the same kernel
 * on the same values in the same order, only on another device.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class MultiDeviceTrainingTest {
    private static final int ITERATIONS = 4;

    @ParameterizedTest(name = "{0} micro-batches, register quota {1}")
    @CsvSource({"1, 1", "2, 1", "2, 2"})
    void shouldTrainTheMlpSplitOverTwoDevicesLikeTheReference(int microBatches, int quota) {
        TrainingGraph graph = TrainingModels.mlp(microBatches, adamW(), 0.5);
        Placement split = Placement.byParameterPrefix(Map.of("fc2.", 1, "head.", 1));
        ActorExecutorOptions options = ActorExecutorOptions.defaults().withDevices(2, split).withRegisterQuota(quota);
        assertTrainsLikeReference(graph, false, microBatches, options);
    }

    @ParameterizedTest(name = "{0} micro-batches, register quota {1}")
    @CsvSource({"1, 1", "2, 1", "2, 2"})
    void shouldTrainTheGptStackSplitOverTwoDevicesLikeTheReference(int microBatches, int quota) {
        TrainingGraph graph = TrainingModels.gpt(microBatches, adamW(), 1.0);
        Placement split = Placement.byParameterPrefix(Map.of("block1.", 1, "ln_final.", 1, "head.", 1));
        ActorExecutorOptions options = ActorExecutorOptions.defaults().withDevices(2, split).withRegisterQuota(quota);
        assertTrainsLikeReference(graph, true, microBatches, options);
    }

    @Test
    void shouldTrainLikeTheReferenceWhateverTheDeviceOfEachOp() {
        for (int seed = 0; seed < 4; seed++) {
            boolean gpt = seed % 2 == 1;
            int microBatches = 1 + seed % 3;
            TrainingGraph graph = gpt ? TrainingModels.gpt(microBatches, adamW(), 1.0)
                    : TrainingModels.mlp(microBatches, adamW(), 0.5);
            ActorExecutorOptions options = ActorExecutorOptions.defaults().withDevices(3, randomPlacement(seed))
                    .withRegisterQuota(1 + seed % 2);
            assertTrainsLikeReference(graph, gpt, microBatches, options);
        }
    }

    @Test
    void shouldRunEachSideOfTheSplitOnItsOwnDeviceWithTransfersBetween() {
        TrainingGraph graph = TrainingModels.gpt(2, adamW(), 1.0);
        Placement split = Placement.byParameterPrefix(Map.of("block1.", 1, "ln_final.", 1, "head.", 1));
        try (ActorExecutor actors = new ActorExecutor(graph, 7,
                ActorExecutorOptions.defaults().withDevices(2, split).withTrace(true))) {
            actors.run(batches(true, 2, 2, 1), learningRates(2));
            List<ActorSpec> plan = actors.plan().actors();
            Set<String> forwardOps = graph.forwardOps().stream().map(Op::name).collect(Collectors.toSet());
            for (ActorSpec actor : plan) {
                if (!forwardOps.contains(actor.name())) {
                    continue;
                }
                boolean secondHalf = actor.name().startsWith("block1.") || actor.name().startsWith("head.")
                        || actor.name().startsWith("ln_final.");
                boolean firstHalf = actor.name().startsWith("block0.") || actor.name().startsWith("token_embedding.");
                if (secondHalf || firstHalf) {
                    assertEquals(secondHalf ? 1 : 0, actor.device(), actor.name());
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

    /** Every op on a random device of three; deterministic per seed. */
    private static Placement randomPlacement(long seed) {
        Random random = new Random(seed);
        Map<String, Integer> chosen = new HashMap<>();
        return (Op op) -> chosen.computeIfAbsent(op.name(), name -> random.nextInt(3));
    }

    private static void assertTrainsLikeReference(TrainingGraph graph, boolean gpt, int microBatches,
                                                  ActorExecutorOptions options) {
        List<List<Map<String, HostTensor>>> data = batches(gpt, ITERATIONS, microBatches, 42);
        double[] rates = learningRates(ITERATIONS);
        try (ReferenceExecutor reference = new ReferenceExecutor(graph, 7);
                ActorExecutor actors = new ActorExecutor(graph, 7, options)) {
            List<StepResult> expected = reference(reference, data, rates);
            List<StepResult> actual = actors.run(data, rates);
            requireSameTraining(Tolerance.EXACT, expected, actual, parametersAndState(reference),
                    parametersAndState(actors));
        }
    }
}
