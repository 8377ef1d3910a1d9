package dev.tessera.worker.actors;

import static dev.tessera.worker.actors.TrainingModels.adamW;
import static dev.tessera.worker.actors.TrainingModels.batches;
import static dev.tessera.worker.actors.TrainingModels.learningRates;
import static dev.tessera.worker.actors.TrainingModels.parametersAndState;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.graph.Tensor;
import dev.tessera.lowering.DistributedTraining;
import dev.tessera.runtime.DeadlockException;
import dev.tessera.sbp.NdSbp;
import dev.tessera.sbp.Placement;
import dev.tessera.sbp.Sbp;
import dev.tessera.sbp.infer.CostModel;
import dev.tessera.tensor.HostTensor;
import dev.tessera.tensor.Tolerance;
import dev.tessera.worker.exec.StepResult;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A compiled plan with a hand-written action order per device (GPipe: F0 F1 B0 B1, then the
 * updates) trains bit for bit like the same plan run as its data arrives: the order changes when
 * actions run, never what they compute.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ActionOrderTrainingTest {
    private static final int ITERATIONS = 3;
    private static final int MICRO_BATCHES = 2;

    private final TrainingGraph graph = TrainingModels.mlp(MICRO_BATCHES, adamW(), 0.5);
    private final DistributedTraining dataParallel = dataParallel(graph);

    @Test
    void shouldTrainDataParallelWithAGPipeOrderBitForBitLikeWithoutAnOrder() {
        // GPipe keeps both micro-batches' activations alive: two registers per output
        ActorExecutorOptions options = ActorExecutorOptions.defaults().withRegisterQuota(2);
        List<List<Map<String, HostTensor>>> data = batches(false, ITERATIONS, MICRO_BATCHES, 42);
        double[] rates = learningRates(ITERATIONS);

        try (ParallelExecutor dataflow = new ParallelExecutor(dataParallel, 7, options);
                ParallelExecutor ordered = new ParallelExecutor(dataParallel, 7, options, GPipeOrders::withOrders)) {
            assertTrue(dataflow.plan().orders().isEmpty());
            assertEquals(2, ordered.plan().orders().size(), "both devices follow an order");
            List<StepResult> expected = dataflow.run(data, rates);
            List<StepResult> actual = ordered.run(data, rates);

            TrainingModels.requireSameTraining(Tolerance.EXACT, expected, actual, parametersAndState(dataflow),
                    parametersAndState(ordered));
        }
    }

    @Test
    void shouldReportAGPipeOrderWithOneRegisterPerOutputAsADeadlockNamingTheOutput() {
        ActorExecutorOptions options = ActorExecutorOptions.defaults().withRegisterQuota(1);
        List<List<Map<String, HostTensor>>> data = batches(false, 1, MICRO_BATCHES, 42);

        try (ParallelExecutor ordered = new ParallelExecutor(dataParallel, 7, options, GPipeOrders::withOrders)) {
            DeadlockException error = assertThrows(DeadlockException.class, () -> ordered.run(data, learningRates(1)));

            assertFalse(error.blocked().isEmpty());
            for (DeadlockException.BlockedAction blocked : error.blocked()) {
                assertEquals(1, blocked.microBatch(), error.getMessage());
                assertTrue(blocked.waitsFor().stream().anyMatch(w -> w.startsWith("a free register of output")),
                        error.getMessage());
            }
        }
    }

    private static DistributedTraining dataParallel(TrainingGraph graph) {
        Map<Tensor, NdSbp> hints = new LinkedHashMap<>();
        for (String input : List.of("x", "labels")) {
            hints.put(graph.forward().store().tensor(input), NdSbp.of(Sbp.split(0)));
        }
        return DistributedTraining.plan(graph, Placement.onNode(0, 2), hints, CostModel.standard());
    }
}
