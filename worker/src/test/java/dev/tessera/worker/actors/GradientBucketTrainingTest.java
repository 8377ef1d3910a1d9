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
import dev.tessera.graph.Tensor;
import dev.tessera.lowering.DistributedTraining;
import dev.tessera.proto.plan.CollectiveGroup;
import dev.tessera.proto.plan.PlanProto;
import dev.tessera.sbp.NdSbp;
import dev.tessera.sbp.Placement;
import dev.tessera.sbp.Sbp;
import dev.tessera.sbp.infer.CostModel;
import dev.tessera.tensor.HostTensor;
import dev.tessera.tensor.Tolerance;
import dev.tessera.worker.exec.StepResult;
import dev.tessera.worker.exec.Traffic;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Data-parallel training with the gradient reductions fused into buckets trains bit for bit like
 * one collective per gradient (every element keeps its own gradient's ring part, so its fold
 * order), on 2, 3 and 4 virtual devices, with gradients reduced per micro-batch (W phase) or once
 * per iteration (update), and on a data x tensor mesh; and the runtime counts what the plan
 * charges.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class GradientBucketTrainingTest {
    private static final int ITERATIONS = 3;
    /** Sequences per micro-batch of the GPT-like model: a multiple of 2, 3 and 4 data-parallel devices. */
    private static final int GPT_BATCH = 12;
    /** Small enough that the MLP's weight gradients make several buckets, large enough for two gradients in one. */
    private static final long BUCKET_BYTES = 96 << 10;

    @ParameterizedTest(name = "{0} devices")
    @ValueSource(ints = {2, 3, 4})
    void shouldTrainDataParallelBitForBitLikeOneCollectivePerGradient(int devices) {
        TrainingGraph graph = TrainingModels.gpt(GPT_BATCH, 1, adamW(), 0.5);
        requireSameWithAndWithoutBuckets(plan(graph, Placement.onNode(0, devices),
                Map.of("tokens", split(0), "targets", split(0))), true, 1, true);
    }

    @Test
    void shouldTrainWithGradientsReducedOncePerIterationLikeOneCollectivePerGradient() {
        TrainingGraph graph = TrainingModels.gpt(GPT_BATCH, 3, adamW(), 0.5);
        requireSameWithAndWithoutBuckets(plan(graph, Placement.onNode(0, 3),
                Map.of("tokens", split(0), "targets", split(0))), true, 3, false);
    }

    @Test
    void shouldTrainADataTimesTensorMeshLikeOneCollectivePerGradient() {
        TrainingGraph graph = TrainingModels.mlp(1, adamW(), 0.5);
        requireSameWithAndWithoutBuckets(plan(graph, Placement.onNode(0, 2, 2), Map.of(
                "x", NdSbp.of(Sbp.split(0), Sbp.broadcast()), "labels", NdSbp.of(Sbp.split(0), Sbp.broadcast()),
                "fc1.weight", NdSbp.of(Sbp.broadcast(), Sbp.split(1)),
                "fc2.weight", NdSbp.of(Sbp.broadcast(), Sbp.split(0)))), false, 1, true);
    }

    /**
     * ZeRO-style: weights and their Adam moments split over the data-parallel devices, so each
     * weight gradient's accumulator is reduce-scattered (P to S(0)) into its shard once per
     * iteration: buckets of reduce-scatters, each member unpacking its reduced part of every
     * gradient into that gradient's shard. (With one micro-batch the planner all-reduces the
     * gradient in the W phase and slices it locally instead.)
     */
    @ParameterizedTest(name = "{0} devices, {1} micro-batches")
    @CsvSource({"2, 3", "3, 3", "4, 3", "2, 4"})
    void shouldTrainWithShardedOptimizerStateBitForBitLikeOneReduceScatterPerGradient(int devices, int microBatches) {
        DistributedTraining plan = shardedOptimizerState(devices, microBatches);
        try (ParallelExecutor parallel = new ParallelExecutor(plan, 7,
                ActorExecutorOptions.defaults().withGradientBucketBytes(BUCKET_BYTES))) {
            assertTrue(parallel.compiledPlan().getCollectiveGroupsList().stream()
                    .filter(g -> g.getBucket() != 0 && g.getConversion().equals("REDUCE_SCATTER"))
                    .map(CollectiveGroup::getBucket).distinct().count() > 0, "buckets of reduce-scatters");
        }
        requireSameWithAndWithoutBuckets(plan, false, microBatches, false);
    }

    /**
     * Cut into plan fragments per process (collectives across processes over the transport, as
     * ProcessFragmentTrainingTest runs them): bucketed processes train bit for bit like unbucketed
     * virtual devices. Over Aeron between OS processes: ProcessFragmentsOverAeronTest.
     */
    @ParameterizedTest(name = "{0} processes")
    @ValueSource(ints = {2, 4})
    void shouldTrainAsProcessesWithBucketsBitForBitLikeVirtualDevicesWithout(int processes) {
        DistributedTraining distributed = ProcessFragmentTrainingTest.layout(
                ProcessFragmentTrainingTest.Layout.MLP_DATA_PARALLEL, ProcessFragmentTrainingTest.Schedule.NONE,
                new LinkedHashMap<>());
        List<List<Map<String, HostTensor>>> data = batches(false, ITERATIONS,
                ProcessFragmentTrainingTest.MICRO_BATCHES, 42);
        double[] rates = learningRates(ITERATIONS);
        ActorExecutorOptions bucketed = ActorExecutorOptions.defaults().withGradientBucketBytes(BUCKET_BYTES);
        assertTrue(buckets(distributed, bucketed) > 0, "the plan fuses some gradients");
        try (ParallelExecutor virtual = new ParallelExecutor(distributed, 7, ActorExecutorOptions.defaults());
                ProcessGroup group = new ProcessGroup(distributed, 7, bucketed, processes)) {
            group.requireTrainsLike(virtual, data, rates);
        }
        try (ParallelExecutor virtual = new ParallelExecutor(distributed, 7, bucketed);
                ProcessGroup group = new ProcessGroup(distributed, 7, bucketed, processes)) {
            virtual.run(data, rates);
            group.run(data, rates);
            // tiny gradients the boxing table would exchange directly are charged the ring's bytes in a bucket
            assertArrayEquals(virtual.traffic().orElseThrow().sentSinceStart(), group.bytesSent(), "bytes per device");
        }
    }

    /** ZeRO-style buckets of reduce-scatters cut into 2 processes' plan fragments train like unbucketed virtual devices. */
    @Test
    void shouldTrainShardedOptimizerStateAsProcessesWithBucketsBitForBitLikeVirtualDevicesWithout() {
        int microBatches = 3;
        DistributedTraining distributed = shardedOptimizerState(2, microBatches);
        List<List<Map<String, HostTensor>>> data = batches(false, ITERATIONS, microBatches, 42);
        double[] rates = learningRates(ITERATIONS);
        ActorExecutorOptions bucketed = ActorExecutorOptions.defaults().withGradientBucketBytes(BUCKET_BYTES);
        try (ParallelExecutor virtual = new ParallelExecutor(distributed, 7, ActorExecutorOptions.defaults());
                ProcessGroup group = new ProcessGroup(distributed, 7, bucketed, 2)) {
            group.requireTrainsLike(virtual, data, rates);
        }
        try (ParallelExecutor virtual = new ParallelExecutor(distributed, 7, bucketed);
                ProcessGroup group = new ProcessGroup(distributed, 7, bucketed, 2)) {
            assertTrue(virtual.compiledPlan().getCollectiveGroupsList().stream().anyMatch(g -> g.getBucket() != 0
                    && g.getConversion().equals("REDUCE_SCATTER")), "buckets of reduce-scatters");
            virtual.run(data, rates);
            group.run(data, rates);
            assertArrayEquals(virtual.traffic().orElseThrow().sentSinceStart(), group.bytesSent(), "bytes per device");
        }
    }

    private static DistributedTraining shardedOptimizerState(int devices, int microBatches) {
        TrainingGraph graph = TrainingModels.mlp(microBatches, adamW(), 0.5);
        Map<String, NdSbp> hints = new LinkedHashMap<>(Map.of("x", split(0), "labels", split(0)));
        for (String layer : List.of("fc1", "fc2", "head")) {
            hints.put(layer + ".weight", split(0));
        }
        return plan(graph, Placement.onNode(0, devices), hints);
    }

    @Test
    void shouldNotBucketWithOneCollectivePerGradient() {
        TrainingGraph graph = TrainingModels.gpt(1, adamW(), 0.5);
        DistributedTraining plan = plan(graph, Placement.onNode(0, 2), Map.of("tokens", split(0), "targets", split(0)));
        assertEquals(0, buckets(plan, ActorExecutorOptions.defaults()));
        assertTrue(buckets(plan, ActorExecutorOptions.defaults().withGradientBucketBytes(BUCKET_BYTES)) > 0);

    }

    private static void requireSameWithAndWithoutBuckets(DistributedTraining plan, boolean gpt, int microBatches,
            boolean expectWeightPhase) {
        List<List<Map<String, HostTensor>>> data = gpt ? batches(true, ITERATIONS, microBatches, 42, GPT_BATCH)
                : batches(false, ITERATIONS, microBatches, 42);
        double[] rates = learningRates(ITERATIONS);
        ActorExecutorOptions perGradient = ActorExecutorOptions.defaults();
        ActorExecutorOptions bucketed = perGradient.withGradientBucketBytes(BUCKET_BYTES);
        assertTrue(buckets(plan, bucketed) > 0, "the plan fuses some gradients");
        List<StepResult> expected;
        Map<String, HostTensor> expectedTensors;
        try (ParallelExecutor parallel = new ParallelExecutor(plan, 7, perGradient)) {
            expected = parallel.run(data, rates);
            expectedTensors = parametersAndState(parallel);
        }
        try (ParallelExecutor parallel = new ParallelExecutor(plan, 7, bucketed)) {
            PlanProto compiled = parallel.compiledPlan();
            boolean weightPhase = compiled.getCollectiveGroupsList().stream().anyMatch(g -> g.getBucket() != 0
                    && compiled.getActors(g.getMembers(0)).getPhase() == dev.tessera.proto.graph.Phase.BACKWARD_WEIGHT);
            assertEquals(expectWeightPhase, weightPhase, "buckets of the W phase");
            List<StepResult> actual = parallel.run(data, rates);
            requireSameTraining(Tolerance.EXACT, expected, actual, expectedTensors, parametersAndState(parallel));
            Traffic traffic = parallel.traffic().orElseThrow();
            long[] planned = Arrays.stream(traffic.plannedPerIteration()).map(b -> b * ITERATIONS).toArray();
            assertArrayEquals(planned, traffic.sentSinceStart(), "counted bytes per device " + traffic.devices());
        }
    }

    private static int buckets(DistributedTraining plan, ActorExecutorOptions options) {
        try (ParallelExecutor parallel = new ParallelExecutor(plan, 7, options)) {
            return (int) parallel.compiledPlan().getCollectiveGroupsList().stream().mapToInt(CollectiveGroup::getBucket)
                    .filter(b -> b != 0).distinct().count();
        }
    }

    private static DistributedTraining plan(TrainingGraph graph, Placement placement, Map<String, NdSbp> byName) {
        Map<Tensor, NdSbp> hints = new LinkedHashMap<>();
        byName.forEach((name, sbp) -> hints.put(graph.forward().store().tensor(name), sbp));
        return DistributedTraining.plan(graph, placement, hints, CostModel.standard());
    }

    private static NdSbp split(int axis) {
        return NdSbp.of(Sbp.split(axis));
    }
}
