package dev.tessera.worker.actors;

import static dev.tessera.worker.actors.TrainingModels.adamW;
import static dev.tessera.worker.actors.TrainingModels.assertClose;
import static dev.tessera.worker.actors.TrainingModels.batches;
import static dev.tessera.worker.actors.TrainingModels.learningRates;
import static dev.tessera.worker.actors.TrainingModels.parametersAndState;
import static dev.tessera.worker.actors.TrainingModels.reference;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.collective.AllReduce;
import dev.tessera.collective.RegionJoin;
import dev.tessera.collective.RegionSlice;
import dev.tessera.graph.DType;
import dev.tessera.graph.Op;
import dev.tessera.graph.Tensor;
import dev.tessera.lowering.DistributedTraining;
import dev.tessera.optim.Optimizer;
import dev.tessera.sbp.DeviceId;
import dev.tessera.sbp.NdSbp;
import dev.tessera.sbp.Placement;
import dev.tessera.sbp.Sbp;
import dev.tessera.sbp.infer.CostModel;
import dev.tessera.sbp.infer.StageRules;
import dev.tessera.tensor.HostTensor;
import dev.tessera.worker.exec.NonFiniteException;
import dev.tessera.worker.exec.ReferenceExecutor;
import dev.tessera.worker.exec.StepResult;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * SBP layouts executed: a training graph laid out over 2, 3 or 4 virtual devices (data parallel,
 * tensor parallel, both on a 2-D hierarchy, vocabulary-parallel embedding, sharded optimizer
 * state), lowered to per-device ops and collectives and run on the actor runtime, gives the
 * reference executor's losses, gradient norms, gradients, parameters and optimizer state. Only
 * the order of the sums in the collectives differs from one device: F64 models agree element by
 * element to 1e-9 relative; F32 ones agree on every loss and norm to 1e-5 relative and on every
 * gradient, parameter and moment to 1e-5 of that tensor's largest magnitude (element-wise
 * relative error is no measure for elements near zero), with 1e-3 as the smallest scale (an
 * attention key bias's gradient is exactly zero in exact arithmetic: its entries are rounding
 * noise near 1e-9). The F32 models train with SGD: AdamW divides that noise by its own
 * magnitude and takes full-sized steps along it, on one device as on several, so the key bias
 * would follow the noise rather than the math.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ParallelTrainingTest {
    private static final int ITERATIONS = 5;
    private static final double F64_RELATIVE = 1e-9;
    private static final double F32_RELATIVE = 1e-5;
    private static final Optimizer SGD = new Optimizer.Sgd(0.9, 0.01);

    @ParameterizedTest(name = "{0} devices")
    @ValueSource(ints = {2, 3, 4})
    void shouldTrainTheMlpDataParallelLikeTheReference(int devices) {
        TrainingGraph graph = TrainingModels.mlp(2, adamW(), 0.5);
        DistributedTraining plan = plan(graph, Placement.onNode(0, devices), Map.of("x", split(0), "labels", split(0)));
        assertTrue(plan.physical().ops().stream().anyMatch(op -> op.def() instanceof AllReduce),
                "weight gradients are summed over the devices");
        assertTrainsLikeReference(plan, false, 2, F64_RELATIVE);
    }

    @Test
    void shouldAccumulatePartialGradientsAndReduceThemOncePerIterationWithManyMicroBatches() {
        TrainingGraph graph = TrainingModels.mlp(4, adamW(), 0.5);
        DistributedTraining plan = plan(graph, Placement.onNode(0, 2), Map.of("x", split(0), "labels", split(0)));
        Tensor weight = graph.forward().store().tensor("fc1.weight");
        assertEquals(NdSbp.of(Sbp.partialSum()), plan.layout(graph.accumulator(weight)),
                "with 4 micro-batches each device accumulates its own partial gradient");
        long gradientReductions = 0;
        for (Op op : plan.physical().ops()) {
            // the loss's sum and count are scalars reduced per micro-batch; gradients only at the update
            if (op.def() instanceof AllReduce && op.output(0).shape().rank() > 0) {
                assertEquals(dev.tessera.graph.Phase.UPDATE, op.phase(), op.name() + " reduces once per iteration");
                gradientReductions++;
            }
        }
        assertTrue(gradientReductions > 0, "the partial accumulators are reduced for the norm and the update");
        assertTrainsLikeReference(plan, false, 4, F64_RELATIVE);
        // with one micro-batch, reducing at accumulation (once) beats reducing for the norm and the update (twice)
        TrainingGraph single = TrainingModels.mlp(1, adamW(), 0.5);
        DistributedTraining once = plan(single, Placement.onNode(0, 2), Map.of("x", split(0), "labels", split(0)));
        assertEquals(NdSbp.of(Sbp.broadcast()),
                once.layout(single.accumulator(single.forward().store().tensor("fc1.weight"))));
    }

    @ParameterizedTest(name = "{0} devices")
    @ValueSource(ints = {2, 3, 4})
    void shouldTrainTheMlpTensorParallelLikeTheReference(int devices) {
        // Megatron-style: fc1 column-parallel, fc2 row-parallel; 7 hidden units split unevenly
        TrainingGraph graph = TrainingModels.mlp(1, new Optimizer.Sgd(0.9, 0.01), 0.5);
        DistributedTraining plan = plan(graph, Placement.onNode(0, devices),
                Map.of("fc1.weight", split(1), "fc1.bias", split(0), "fc2.weight", split(0)));
        assertTrainsLikeReference(plan, false, 1, F64_RELATIVE);
    }

    @Test
    void shouldTrainTheMlpDataTimesTensorParallelOnATwoByTwoHierarchy() {
        TrainingGraph graph = TrainingModels.mlp(2, adamW(), 0.5);
        Placement grid = Placement.onNode(0, 2, 2);
        Map<String, NdSbp> hints = Map.of(
                "x", NdSbp.of(Sbp.split(0), Sbp.broadcast()),
                "labels", NdSbp.of(Sbp.split(0), Sbp.broadcast()),
                "fc1.weight", NdSbp.of(Sbp.broadcast(), Sbp.split(1)),
                "fc2.weight", NdSbp.of(Sbp.broadcast(), Sbp.split(0)));
        assertTrainsLikeReference(plan(graph, grid, hints), false, 2, F64_RELATIVE);
    }

    @ParameterizedTest(name = "{0} devices")
    @ValueSource(ints = {2, 3, 4})
    void shouldTrainTheMlpWithShardedOptimizerStateLikeTheReference(int devices) {
        // ZeRO-style: weights and their Adam moments stored split over the data-parallel devices
        TrainingGraph graph = TrainingModels.mlp(2, adamW(), 0.5);
        Map<String, NdSbp> hints = new LinkedHashMap<>(Map.of("x", split(0), "labels", split(0)));
        for (String layer : List.of("fc1", "fc2", "head")) {
            hints.put(layer + ".weight", split(0));
        }
        DistributedTraining plan = plan(graph, Placement.onNode(0, devices), hints);
        assertEquals(split(0), plan.layout(graph.forward().tensor("fc1.weight.adam_m")));
        assertTrainsLikeReference(plan, false, 2, F64_RELATIVE);
    }

    @ParameterizedTest(name = "{0} devices")
    @ValueSource(ints = {2, 3, 4})
    void shouldTrainTheGptStackDataParallelLikeTheReference(int devices) {
        // 6 sequences per micro-batch: uneven on 4 devices
        TrainingGraph graph = TrainingModels.gpt(6, 2, SGD, 1.0);
        DistributedTraining plan = plan(graph, Placement.onNode(0, devices),
                Map.of("tokens", split(0), "targets", split(0)));
        assertTrainsLikeReference(plan, true, 2, F32_RELATIVE);
    }

    @ParameterizedTest(name = "{0} devices")
    @ValueSource(ints = {2, 3, 4})
    void shouldTrainTheGptStackTensorParallelLikeTheReference(int devices) {
        TrainingGraph graph = TrainingModels.gpt(1, SGD, 1.0);
        Map<String, NdSbp> hints = new LinkedHashMap<>();
        megatron(hints, split(1), split(0));
        assertTrainsLikeReference(plan(graph, Placement.onNode(0, devices), hints), true, 1, F32_RELATIVE);
    }

    @Test
    void shouldTrainTheGptStackDataTimesTensorParallelOnATwoByTwoHierarchy() {
        TrainingGraph graph = TrainingModels.gpt(2, SGD, 1.0);
        Map<String, NdSbp> hints = new LinkedHashMap<>();
        hints.put("tokens", NdSbp.of(Sbp.split(0), Sbp.broadcast()));
        hints.put("targets", NdSbp.of(Sbp.split(0), Sbp.broadcast()));
        megatron(hints, NdSbp.of(Sbp.broadcast(), Sbp.split(1)), NdSbp.of(Sbp.broadcast(), Sbp.split(0)));
        assertTrainsLikeReference(plan(graph, Placement.onNode(0, 2, 2), hints), true, 2, F32_RELATIVE);
    }

    /** Column-parallel q, k, v and MLP up-projection, row-parallel output projections, in both blocks. */
    private static void megatron(Map<String, NdSbp> hints, NdSbp columns, NdSbp rows) {
        for (int block = 0; block < 2; block++) {
            String prefix = "block" + block + ".";
            for (String column : List.of("attention.q", "attention.k", "attention.v", "fc")) {
                hints.put(prefix + column + ".weight", columns);
            }
            hints.put(prefix + "attention.proj.weight", rows);
            hints.put(prefix + "proj.weight", rows);
        }
    }

    @ParameterizedTest(name = "{0} devices")
    @ValueSource(ints = {2, 3, 4})
    void shouldTrainTheGptStackWithAVocabularyParallelEmbeddingLikeTheReference(int devices) {
        TrainingGraph graph = TrainingModels.gpt(1, SGD, 1.0);
        DistributedTraining plan = plan(graph, Placement.onNode(0, devices),
                Map.of("token_embedding.weight", split(0)));
        assertTrainsLikeReference(plan, true, 1, F32_RELATIVE);
    }

    @Test
    void shouldTrainTheMlpOnTwoStagesOfOneDeviceEachLikeTheReference() {
        TrainingGraph graph = TrainingModels.mlp(2, adamW(), 0.5);
        Placement first = Placement.of(List.of(new DeviceId(0, 0)), 1);
        Placement second = Placement.of(List.of(new DeviceId(0, 1)), 1);
        Map<Op, Placement> stages = new StageRules(Map.of("fc2.", second, "head.", second))
                .resolve(graph.ops(), first);
        DistributedTraining plan = DistributedTraining.plan(graph, first, stages, Map.of(), CostModel.standard());
        assertEquals(2, plan.devices().size());
        assertTrue(plan.physical().ops().stream().anyMatch(op -> op.name().startsWith("fc2.") && plan.device(op) == 1));
        assertTrainsLikeReference(plan, false, 2, F64_RELATIVE);
    }

    @Test
    void shouldTrainTheGptStackOnTwoDataParallelStagesLikeTheReference() {
        // block 0 and the embeddings on devices 0-1, block 1 and the head on devices 2-3, each stage data parallel
        TrainingGraph graph = TrainingModels.gpt(2, SGD, 1.0);
        Placement first = Placement.of(List.of(new DeviceId(0, 0), new DeviceId(0, 1)), 2);
        Placement second = Placement.of(List.of(new DeviceId(0, 2), new DeviceId(0, 3)), 2);
        Map<Op, Placement> stages = new StageRules(Map.of("block1.", second, "ln_final.", second, "head.", second))
                .resolve(graph.ops(), first);
        Map<Tensor, NdSbp> hints = new LinkedHashMap<>();
        hints.put(graph.forward().store().tensor("tokens"), split(0));
        hints.put(graph.forward().store().tensor("targets"), split(0));
        DistributedTraining plan = DistributedTraining.plan(graph, first, stages, hints, CostModel.standard());
        assertEquals(4, plan.devices().size());
        assertTrue(plan.physical().ops().stream().anyMatch(op -> op.def() instanceof RegionJoin
                || op.def() instanceof RegionSlice), "activations and gradients cross between the stages");
        assertTrainsLikeReference(plan, true, 2, F32_RELATIVE);
    }

    @Test
    void shouldStopAtANonFiniteLossOnSeveralDevicesNamingTheDeviceOpAndKeepingTheWeights() {
        TrainingGraph graph = TrainingModels.mlp(1, adamW(), 0.5);
        DistributedTraining plan = plan(graph, Placement.onNode(0, 2), Map.of("x", split(0), "labels", split(0)));
        List<List<Map<String, HostTensor>>> data = batches(false, 3, 1, 42);
        Map<String, HostTensor> poisoned = new LinkedHashMap<>(data.get(1).get(0));
        double[] x = poisoned.get("x").convert(DType.F64).doubles();
        x[x.length - 1] = Double.NaN; // a row of the second device's part
        poisoned.put("x", HostTensor.ofDoubles(poisoned.get("x").shape(), x));
        data.set(1, List.of(poisoned));
        try (ParallelExecutor parallel = new ParallelExecutor(plan, 7, ActorExecutorOptions.defaults())) {
            parallel.run(data.subList(0, 1), learningRates(1));
            Map<String, HostTensor> before = parallel.parameters();
            NonFiniteException e = assertThrows(NonFiniteException.class,
                    () -> parallel.run(data.subList(1, 3), learningRates(2)));
            assertTrue(e.opName().startsWith("fc1.matmul@"), e.getMessage());
            assertEquals(1, parallel.iteration(), "the failing iteration is the second");
            assertTensorsClose(before, parallel.parameters(), 0, false);
        }
    }

    private static NdSbp split(int axis) {
        return NdSbp.of(Sbp.split(axis));
    }

    private static DistributedTraining plan(TrainingGraph graph, Placement placement, Map<String, NdSbp> byName) {
        Map<Tensor, NdSbp> hints = new LinkedHashMap<>();
        byName.forEach((name, sbp) -> hints.put(graph.forward().store().tensor(name), sbp));
        return DistributedTraining.plan(graph, placement, hints, CostModel.standard());
    }

    /**
     * Element by element within {@code relative} of the larger magnitude, or, {@code scaled},
     * within {@code relative} of the tensor's largest magnitude.
     */
    private static void assertTensorsClose(Map<String, HostTensor> expected, Map<String, HostTensor> actual,
            double relative, boolean scaled) {
        assertEquals(expected.keySet(), actual.keySet());
        for (String name : expected.keySet()) {
            double[] a = expected.get(name).convert(DType.F64).doubles();
            double[] b = actual.get(name).convert(DType.F64).doubles();
            assertEquals(a.length, b.length, name);
            double scale = scaled ? 1e-3 : 0;
            for (double v : a) {
                scale = Math.max(scale, Math.abs(v));
            }
            for (int i = 0; i < a.length; i++) {
                double bound = relative * (scaled ? scale : Math.max(Math.abs(a[i]), Math.abs(b[i]))) + 1e-12;
                assertEquals(a[i], b[i], bound, name + "[" + i + "]");
            }
        }
    }

    private static void assertTrainsLikeReference(DistributedTraining plan, boolean gpt, int microBatches,
            double relative) {
        boolean scaled = relative == F32_RELATIVE;
        TrainingGraph graph = plan.logical();
        int gptBatch = gpt ? graph.forward().store().tensor("tokens").shape().dim(0) : 0;
        List<List<Map<String, HostTensor>>> data = batches(gpt, ITERATIONS, microBatches, 42, gptBatch);
        double[] rates = learningRates(ITERATIONS);
        try (ReferenceExecutor reference = new ReferenceExecutor(graph, 7);
                ParallelExecutor parallel = new ParallelExecutor(plan, 7, ActorExecutorOptions.defaults())) {
            assertClose(List.of(), List.of(), reference.parameters(), parallel.parameters(), 0.0);
            Map<String, HostTensor> expectedGradients = reference.gradients(data.get(0));
            Map<String, HostTensor> actualGradients = parallel.gradients(data.get(0));
            assertTensorsClose(expectedGradients, actualGradients, relative, scaled);
            List<StepResult> expected = reference(reference, data, rates);
            List<StepResult> actual = parallel.run(data, rates);
            assertClose(expected, actual, Map.of(), Map.of(), relative);
            Map<String, HostTensor> actualState = new LinkedHashMap<>(parallel.parameters());
            actualState.putAll(parallel.optimizerState());
            assertTensorsClose(parametersAndState(reference), actualState, relative, scaled);
            assertTensorsClose(reference.gradients(data.get(0)), parallel.gradients(data.get(0)), relative, scaled);
            for (Op op : plan.physical().ops()) {
                assertTrue(plan.device(op) >= 0 && plan.device(op) < plan.devices().size(), op.name());
            }
        }
    }
}
