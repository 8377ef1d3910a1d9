package dev.tessera.worker.actors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.graph.DType;
import dev.tessera.graph.Tensor;
import dev.tessera.lowering.DistributedTraining;
import dev.tessera.optim.Optimizer;
import dev.tessera.runtime.plan.ActorSpec;
import dev.tessera.runtime.plan.Plan;
import dev.tessera.sbp.DeviceId;
import dev.tessera.sbp.NdSbp;
import dev.tessera.sbp.Sbp;
import dev.tessera.sbp.infer.CostModel;
import dev.tessera.tensor.HostTensor;
import dev.tessera.worker.exec.ExplodingGradients;
import dev.tessera.worker.exec.NonFiniteException;
import dev.tessera.worker.exec.ReferenceExecutor;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A gradient that overflows to infinity while the loss stays finite stops the executor on
 * one device, and the parallel executor on two stages of one device each, data parallel and
 * tensor parallel, before any parameter or optimizer state is updated, naming the step, the gradient and the (device's)
 * first op whose output was not finite. See {@link ExplodingGradients} for how the gradient
 * overflows.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class NonFiniteGradientTrainingTest {
    private static final Optimizer ADAM = new Optimizer.AdamW(0.9, 0.95, 1e-8, 0.1);
    private static final double[] RATES = {0.01, 0.01};

    @Test
    void shouldStopAtANonFiniteGradientBeforeAnyUpdateLikeTheReference() {
        // clip_norm 0: the optimizer steps do not read the norm, only the lowering orders them after its check
        TrainingGraph graph = ExplodingGradients.mlp(1, ADAM, 0.0);
        List<List<Map<String, HostTensor>>> exploding = List.of(List.of(ExplodingGradients.explodingBatch()),
                List.of(ExplodingGradients.batch(2)));
        try (ReferenceExecutor reference = new ReferenceExecutor(graph, 3);
                ParallelExecutor actors = ParallelExecutor.onOneDevice(graph, 3)) {
            reference.step(List.of(ExplodingGradients.batch(1)), RATES[0]);
            actors.step(List.of(ExplodingGradients.batch(1)), RATES[0]);
            Map<String, HostTensor> state = actors.optimizerState();
            reference.restore(ExplodingGradients.explodingWeights(), reference.optimizerState(), 1);
            actors.restore(ExplodingGradients.explodingWeights(), state, 1);
            NonFiniteException expected = assertThrows(NonFiniteException.class,
                    () -> reference.step(exploding.get(0), RATES[0]));

            NonFiniteException e = assertThrows(NonFiniteException.class, () -> actors.run(exploding, RATES));

            assertEquals(expected.getMessage(), e.getMessage());
            assertEquals(ExplodingGradients.GRADIENT, e.tensorName());
            assertEquals("fc1.matmul.grad", e.opName());
            assertTrue(e.getMessage().contains("at step 2;"), e.getMessage());
            assertEquals(1, actors.iteration(), "the failing iteration is the second");
            assertIdentical(ExplodingGradients.explodingWeights(), actors.parameters());
            assertIdentical(state, actors.optimizerState());
        }
    }

    @Test
    void shouldStopOnTwoStagesOfOneDeviceEachNamingTheOpOfTheFirst() {
        TrainingGraph graph = ExplodingGradients.mlp(1, ADAM, 0.0);
        DistributedTraining split = MultiDeviceTrainingTest.stages(graph, 2, Map.of("head.", 1));
        try (ParallelExecutor parallel = new ParallelExecutor(split, 3, ActorExecutorOptions.defaults())) {
            NonFiniteException e = assertStopsKeepingTheWeights(parallel, ExplodingGradients.explodingBatch());

            assertEquals(parallel.physicalOp("fc1.matmul.grad", new DeviceId(0, 0)).name(), e.opName());
            assertTrue(e.tensorName().startsWith(ExplodingGradients.GRADIENT + "@"), e.tensorName());
        }
    }

    @Test
    void shouldOrderEveryWritingUpdateAfterAGradientNormSinkOfItsDevice() {
        TrainingGraph graph = ExplodingGradients.mlp(2, ADAM, 0.0);
        DistributedTraining split = MultiDeviceTrainingTest.stages(graph, 2, Map.of("head.", 1));
        Plan plan;
        try (ParallelExecutor parallel = new ParallelExecutor(split, 3, ActorExecutorOptions.defaults())) {
            plan = parallel.plan();
        }
        int updates = 0;
        for (ActorSpec actor : plan.actors()) {
            if (!actor.name().contains(".update@")) {
                continue;
            }
            updates++;
            assertTrue(actor.controlPredecessors().stream().map(id -> plan.actors().get(id))
                    .anyMatch(before -> before.op().equals("GradNormSink") && before.device() == actor.device()),
                    actor.name() + " waits for the gradient norm's check on its device");
        }
        assertEquals(graph.parameters().size(), updates);
    }

    @Test
    void shouldStopDataParallelNamingTheOpOfTheDeviceWhoseGradientOverflowed() {
        TrainingGraph graph = ExplodingGradients.mlp(1, ADAM, 1.0);
        DistributedTraining plan = plan(graph, Map.of("x", split(0), "labels", split(0)));
        // rows 3 to 5 are the second device's part of the batch
        Map<String, HostTensor> poisoned = ExplodingGradients.batch(1e22, 3);
        try (ParallelExecutor parallel = new ParallelExecutor(plan, 3, ActorExecutorOptions.defaults())) {
            NonFiniteException e = assertStopsKeepingTheWeights(parallel, poisoned);

            assertEquals(parallel.physicalOp("fc1.matmul.grad", new DeviceId(0, 1)).name(), e.opName());
            assertTrue(e.tensorName().startsWith(ExplodingGradients.GRADIENT + "@"), e.tensorName());
        }
    }

    @Test
    void shouldStopTensorParallelBeforeAnyDeviceUpdatesItsPart() {
        // Megatron-style: fc1 column-parallel, head row-parallel; 7 hidden units split 4 and 3
        TrainingGraph graph = ExplodingGradients.mlp(1, ADAM, 0.0);
        DistributedTraining plan = plan(graph, Map.of("fc1.weight", split(1), "fc1.bias", split(0),
                "head.weight", split(0)));
        try (ParallelExecutor parallel = new ParallelExecutor(plan, 3, ActorExecutorOptions.defaults())) {
            NonFiniteException e = assertStopsKeepingTheWeights(parallel, ExplodingGradients.explodingBatch());

            assertEquals(parallel.physicalOp("fc1.matmul.grad", new DeviceId(0, 0)).name(), e.opName());
            assertTrue(e.tensorName().startsWith(ExplodingGradients.GRADIENT + "@"), e.tensorName());
        }
    }

    /** One ordinary step, then the exploding weights and {@code poisoned}: the second step stops and changes nothing. */
    private static NonFiniteException assertStopsKeepingTheWeights(ParallelExecutor parallel,
                                                                 Map<String, HostTensor> poisoned) {
        parallel.step(List.of(ExplodingGradients.batch(1)), RATES[0]);
        Map<String, HostTensor> state = parallel.optimizerState();
        parallel.restore(ExplodingGradients.explodingWeights(), state, 1);

        NonFiniteException e = assertThrows(NonFiniteException.class,
                () -> parallel.run(List.of(List.of(poisoned), List.of(ExplodingGradients.batch(2))), RATES));

        assertEquals(1, e.iteration());
        assertTrue(e.getMessage().startsWith("gradient '" + e.tensorName() + "' is not finite at step 2;"),
                e.getMessage());
        assertEquals(1, parallel.iteration());
        assertIdentical(ExplodingGradients.explodingWeights(), parallel.parameters());
        assertIdentical(state, parallel.optimizerState());
        return e;
    }

    private static DistributedTraining plan(TrainingGraph graph, Map<String, NdSbp> byName) {
        Map<Tensor, NdSbp> hints = new LinkedHashMap<>();
        byName.forEach((name, sbp) -> hints.put(graph.forward().store().tensor(name), sbp));
        return DistributedTraining.plan(graph, dev.tessera.sbp.Placement.onNode(0, 2), hints, CostModel.standard());
    }

    private static NdSbp split(int axis) {
        return NdSbp.of(Sbp.split(axis));
    }

    private static void assertIdentical(Map<String, HostTensor> expected, Map<String, HostTensor> actual) {
        assertEquals(expected.keySet(), actual.keySet());
        expected.forEach((name, value) -> assertArrayEquals(value.convert(DType.F64).doubles(),
                actual.get(name).convert(DType.F64).doubles(), 0.0, name));
    }
}
