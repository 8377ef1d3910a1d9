package dev.tessera.worker.actors;

import static dev.tessera.worker.actors.TrainingModels.adamW;
import static dev.tessera.worker.actors.TrainingModels.batches;
import static dev.tessera.worker.actors.TrainingModels.learningRates;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.graph.Tensor;
import dev.tessera.lowering.DistributedTraining;
import dev.tessera.proto.plan.ActorKind;
import dev.tessera.proto.plan.CollectiveGroup;
import dev.tessera.proto.plan.PlanProto;
import dev.tessera.sbp.NdSbp;
import dev.tessera.sbp.Placement;
import dev.tessera.sbp.Sbp;
import dev.tessera.sbp.infer.CostModel;
import dev.tessera.worker.exec.Traffic;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The bytes each device sends, as the runtime counts them (collective messages over the
 * transport, tensors moved by transfers), equal the execution plan's figure per iteration times
 * the iterations run, for data, tensor and pipeline layouts; and a collective member reads only
 * its own device's part: no transfer feeds it.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class CountedTrafficTest {
    private static final int ITERATIONS = 3;

    @ParameterizedTest(name = "{0} devices")
    @ValueSource(ints = {2, 3, 4})
    void shouldCountWhatThePlanSaysDataParallel(int devices) {
        TrainingGraph graph = TrainingModels.mlp(2, adamW(), 0.5);
        DistributedTraining plan = plan(graph, Placement.onNode(0, devices), Map.of("x", split(0), "labels", split(0)));
        Traffic traffic = train(plan, 2);
        // a ring all-reduce of every weight gradient: every device sends about the same
        long[] planned = traffic.plannedPerIteration();
        for (long bytes : planned) {
            assertTrue(bytes > 0, Arrays.toString(planned));
        }
    }

    @Test
    void shouldCountACollectiveOfTheUpdateOncePerIteration() {
        // with 4 micro-batches each device accumulates partial gradients, reduced once, at the update
        TrainingGraph graph = TrainingModels.mlp(4, adamW(), 0.5);
        DistributedTraining plan = plan(graph, Placement.onNode(0, 2), Map.of("x", split(0), "labels", split(0)));
        try (ParallelExecutor parallel = new ParallelExecutor(plan, 7, ActorExecutorOptions.defaults())) {
            PlanProto compiled = parallel.compiledPlan();
            assertTrue(compiled.getCollectiveGroupsList().stream().anyMatch(group -> compiled.getActors(
                    group.getMembers(0)).getPhase() == dev.tessera.proto.graph.Phase.UPDATE),
                    "some gradient is reduced in the update");
        }
        train(plan, 4);
    }

    @ParameterizedTest(name = "{0} devices")
    @ValueSource(ints = {2, 3})
    void shouldCountWhatThePlanSaysTensorParallel(int devices) {
        TrainingGraph graph = TrainingModels.mlp(1, adamW(), 0.5);
        train(plan(graph, Placement.onNode(0, devices), Map.of("fc1.weight", split(1), "fc1.bias", split(0),
                "fc2.weight", split(0))), 1);
    }

    @Test
    void shouldCountWhatThePlanSaysOnTwoStages() {
        TrainingGraph graph = TrainingModels.mlp(2, adamW(), 0.5);
        Traffic traffic = train(MultiDeviceTrainingTest.stages(graph, 2, Map.of("head.", 1)), 2);
        assertTrue(traffic.plannedPerIteration()[0] > 0, "the first stage sends its activations to the second");
        assertTrue(traffic.plannedPerIteration()[1] > 0, "the second stage sends gradients back");
    }

    @Test
    void shouldFeedEveryCollectiveMemberOnlyFromItsOwnDevice() {
        TrainingGraph graph = TrainingModels.gpt(1, adamW(), 0.5);
        DistributedTraining plan = plan(graph, Placement.onNode(0, 4), Map.of("tokens", split(0), "targets", split(0)));
        try (ParallelExecutor parallel = new ParallelExecutor(plan, 7, ActorExecutorOptions.defaults())) {
            PlanProto compiled = parallel.compiledPlan();
            int members = 0;
            for (CollectiveGroup group : compiled.getCollectiveGroupsList()) {
                assertEquals(4, group.getMembersCount(), group.getName());
                for (int member : group.getMembersList()) {
                    members++;
                    compiled.getActors(member).getInputsList().forEach(input -> assertEquals(
                            compiled.getActors(member).getDevice(), compiled.getActors(input.getProducer()).getDevice(),
                            group.getName() + " reads a part from another device"));
                }
            }
            assertTrue(members > 0);
            long transfers = compiled.getActorsList().stream().filter(a -> a.getKind() == ActorKind.TRANSFER).count();
            assertTrue(transfers < members, "data parallel moves scalars and tokens only, " + transfers
                    + " transfers for " + members + " collective members");
        }
    }

    /** Trains {@link #ITERATIONS} iterations and checks the counted bytes against the plan's; returns the traffic. */
    private static Traffic train(DistributedTraining plan, int microBatches) {
        try (ParallelExecutor parallel = new ParallelExecutor(plan, 7, ActorExecutorOptions.defaults())) {
            Traffic before = parallel.traffic().orElseThrow();
            assertArrayEquals(new long[before.devices().size()], before.sentSinceStart(), "nothing sent before a run");
            parallel.run(batches(false, ITERATIONS, microBatches, 42), learningRates(ITERATIONS));
            Traffic after = parallel.traffic().orElseThrow();
            long[] expected = Arrays.stream(after.plannedPerIteration()).map(b -> b * ITERATIONS).toArray();
            assertArrayEquals(expected, after.sentSinceStart(), "counted bytes per device " + after.devices()
                    + " against the plan's " + Arrays.toString(after.plannedPerIteration()) + " per iteration");
            return after;
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
