package dev.tessera.worker.actors;

import static dev.tessera.worker.actors.TrainingModels.adamW;
import static dev.tessera.worker.actors.TrainingModels.batches;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.graph.Op;
import dev.tessera.graph.Phase;
import dev.tessera.graph.Tensor;
import dev.tessera.plan.compile.PlanCompiler;
import dev.tessera.plan.compile.PlanOptions;
import dev.tessera.plan.fragment.InvalidFragmentException;
import dev.tessera.plan.fragment.PlanFragments;
import dev.tessera.plan.fragment.ProcessIdentity;
import dev.tessera.proto.plan.PlanFragment;
import dev.tessera.proto.plan.PlanProto;
import dev.tessera.runtime.plan.ActorKind;
import dev.tessera.runtime.plan.ActorSpec;
import dev.tessera.runtime.plan.Plan;
import dev.tessera.sbp.DeviceId;
import dev.tessera.tensor.HostTensor;
import dev.tessera.worker.exec.NonFiniteException;
import dev.tessera.worker.exec.ReferenceExecutor;
import dev.tessera.worker.kernel.KernelRegistry;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.nd4j.linalg.api.ndarray.INDArray;

/** The plan the scheduler's compiler makes of a training graph, as the actor executor binds and runs it. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class PlanBindingTest {
    private static final DeviceId FIRST = DeviceId.of(0, 0);
    private static final DeviceId SECOND = DeviceId.of(0, 1);
    private final TrainingGraph graph = TrainingModels.mlp(2, adamW(), 0.5);

    @Test
    void shouldLowerEveryOpToOneActorWithOneSourcePerDataInputAndTwoSinks() {
        Plan plan = plan(graph, op -> FIRST, 1, 1, 1);
        assertEquals(graph.ops().size(), count(plan, ActorKind.COMPUTE));
        assertEquals(2, count(plan, ActorKind.SOURCE));
        assertEquals(2, count(plan, ActorKind.SINK));
        assertEquals(0, count(plan, ActorKind.TRANSFER));
    }

    @Test
    void shouldFoldReshapesIntoTheirConsumersAsViews() {
        TrainingGraph gpt = TrainingModels.gpt(1, adamW(), 1.0);
        Plan plan = plan(gpt, op -> FIRST, 1, 1, 1);
        long reshapes = gpt.ops().stream().filter(op -> op.def() instanceof dev.tessera.ops.Reshape).count();
        assertTrue(reshapes > 10, "the GPT-like stack reshapes");
        assertTrue(plan.actors().stream().noneMatch(a -> a.op().equals("reshape")), plan.toString());
        assertEquals(gpt.ops().size() - reshapes, count(plan, ActorKind.COMPUTE));
    }

    @Test
    void shouldStartAnIterationOfAWeightReaderOnlyAfterThatWeightsUpdate() {
        Plan plan = plan(graph, op -> FIRST, 1, 1, 1);
        ActorSpec update = actor(plan, "fc1.weight.update");
        for (Op op : graph.ops()) {
            boolean readsWeight = op.inputs().stream().anyMatch(t -> t.name().equals("fc1.weight"));
            if (readsWeight && op.phase() != Phase.UPDATE) {
                ActorSpec reader = actor(plan, op.name());
                assertTrue(reader.iterationPredecessors().contains(update.id()), op.name());
                assertTrue(update.controlPredecessors().contains(reader.id()),
                        "the update must wait for " + op.name() + " in the last micro-batch");
            }
        }
    }

    @Test
    void shouldClipAndUpdateOnlyAfterTheNormWhichWaitsForTheLossAndEveryAccumulation() {
        Plan plan = plan(graph, op -> FIRST, 1, 1, 1);
        ActorSpec norm = actor(plan, graph.gradNorm().producer().name());
        assertTrue(norm.controlPredecessors().contains(actor(plan, "sink:loss").id()));
        ActorSpec squares = actor(plan, "head.weight.grad_squared_norm");
        assertTrue(squares.controlPredecessors().contains(actor(plan, "head.weight.accumulate").id()));
        ActorSpec normSink = actor(plan, "sink:grad_norm");
        assertEquals(norm.id(), normSink.inputs().get(0).producer(), "the sink checks the norm");
        for (String writer : List.of("head.bias.clip_grad", "head.bias.update")) {
            assertTrue(actor(plan, writer).controlPredecessors().contains(normSink.id()),
                    writer + " waits until the norm was found finite");
        }
        assertTrue(actor(plan, "head.bias.clip_grad").controlPredecessors()
                .contains(actor(plan, "head.bias.grad_squared_norm").id()), "clipping waits for the squares it scales");
        for (String user : List.of("head.bias.grad_squared_norm", "head.bias.clip_grad", "head.bias.update")) {
            assertTrue(actor(plan, "head.bias.accumulate").iterationPredecessors().contains(actor(plan, user).id()),
                    "the next iteration accumulates only after " + user);
        }
    }

    @Test
    void shouldOrderAccessesAcrossDevicesThroughTokenTransfers() {
        Function<Op, DeviceId> updatesApart = op -> op.phase() == Phase.UPDATE ? SECOND : FIRST;
        Plan plan = plan(graph, updatesApart, 2, 1, 1);
        ActorSpec update = actor(plan, "fc1.weight.update");
        ActorSpec reader = actor(plan, graph.forwardOps().get(0).name());
        ActorSpec token = actor(plan, "token:" + reader.name() + "@0:1");
        assertEquals(ActorKind.TRANSFER, token.kind());
        assertEquals(1, token.device());
        assertTrue(update.controlPredecessors().contains(token.id()), "the update waits for the reader's token");
        ActorSpec back = actor(plan, "token:fc1.weight.update@0:0");
        assertTrue(reader.iterationPredecessors().contains(back.id()), "the reader waits for the update's token");
    }

    @Test
    void shouldGiveSourcesAndTheTransfersOfTheirDataTheSourceQuotaAndEveryOtherOutputTheRegisterQuota() {
        // Forward ops on device 0, the rest on device 1: the weight gradients read x through a transfer.
        Function<Op, DeviceId> forwardApart = op -> op.phase() == Phase.FORWARD ? FIRST : SECOND;
        Plan plan = plan(graph, forwardApart, 2, 1, 3);
        int sourceTransfers = 0;
        for (ActorSpec actor : plan.actors()) {
            boolean sourceData = actor.kind() == ActorKind.SOURCE || actor.kind() == ActorKind.TRANSFER
                    && plan.actor(actor.inputs().get(0).producer()).kind() == ActorKind.SOURCE;
            if (sourceData && actor.kind() == ActorKind.TRANSFER) {
                sourceTransfers++;
            }
            actor.outputs().forEach(output -> assertEquals(sourceData ? 3 : 1, output.quota(), actor.name()));
        }
        assertTrue(sourceTransfers > 0, "some data must cross to device 1\n" + plan);
    }

    @Test
    void shouldRejectAPlacementOnAMissingDevice() {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                () -> plan(graph, op -> DeviceId.of(0, 2), 2, 1, 1));
        assertTrue(error.getMessage().contains("device 0:2"), error.getMessage());
        assertTrue(error.getMessage().contains("2 devices"), error.getMessage());
    }

    @Test
    void shouldStopAtANonFiniteLossLikeTheReferenceKeepingTheIterationsBefore() {
        List<List<Map<String, HostTensor>>> data = batches(false, 3, 2, 5);
        double[] rates = {1e300, 0.01, 0.01};
        try (ReferenceExecutor reference = new ReferenceExecutor(graph, 3);
                ParallelExecutor actors = ParallelExecutor.onOneDevice(graph, 3)) {
            reference.step(data.get(0), rates[0]);
            NonFiniteException expected = assertThrows(NonFiniteException.class,
                    () -> reference.step(data.get(1), rates[1]));
            NonFiniteException actual = assertThrows(NonFiniteException.class, () -> actors.run(data, rates));
            assertEquals(expected.getMessage(), actual.getMessage());
            assertEquals(1, actors.iteration());
            Map<String, HostTensor> parameters = actors.parameters();
            reference.parameters().forEach((name, value) ->
                    assertArrayEquals(value.doubles(), parameters.get(name).doubles(), 0.0, name));
        }
    }

    @Test
    void shouldRejectABatchWithAMissingInputBeforeRunning() {
        List<List<Map<String, HostTensor>>> data = batches(false, 2, 2, 5);
        List<List<Map<String, HostTensor>>> broken = List.of(data.get(0),
                List.of(data.get(1).get(0), Map.of("x", data.get(1).get(1).get("x"))));
        try (ParallelExecutor actors = ParallelExecutor.onOneDevice(graph, 3)) {
            Map<String, HostTensor> before = actors.parameters();
            IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                    () -> actors.run(broken, new double[] {0.1, 0.1}));
            assertTrue(error.getMessage().contains("'labels'"), error.getMessage());
            assertEquals(0, actors.iteration());
            assertArrayEquals(before.get("fc1.weight").doubles(), actors.parameters().get("fc1.weight").doubles());
        }
    }

    /**
     * The plan the compiler makes of {@code graph} with each op on device {@code deviceOfOp(op)},
     * one of the {@code devices} devices 0:0, 0:1, ..., as the per-device engine binds it. Any
     * function of the ops, to test how the compiler orders accesses across devices; a run's ops
     * get their devices from its layout.
     */
    @Test
    void shouldRefuseAFragmentOfAnotherJobOrForeignDevicesBeforeBindingAnything() {
        PlanProto compiled = PlanCompiler.compile(graph, List.of(FIRST, SECOND),
                op -> op.phase() == Phase.FORWARD ? FIRST : SECOND, PlanOptions.of(1, 1));
        PlanFragment whole = PlanFragments.cut(compiled, Map.of(0, 0, 1, 0)).get(0);
        Map<Tensor, INDArray> persistent = new HashMap<>();
        PlanBinding binding = new PlanBinding(graph, persistent, Set.of(), new RunState(), KernelRegistry.standard(),
                null, null, new RegisterPools());

        InvalidFragmentException otherJob = assertThrows(InvalidFragmentException.class, () -> binding.bind(whole,
                new ProcessIdentity("another-job", compiled.getPlanVersion(), 0, List.of(FIRST, SECOND)), null));
        assertTrue(otherJob.getMessage().contains("another-job"), otherJob.getMessage());
        InvalidFragmentException foreign = assertThrows(InvalidFragmentException.class, () -> binding.bind(whole,
                new ProcessIdentity(compiled.getJobId(), compiled.getPlanVersion(), 0, List.of(FIRST)), null));
        assertTrue(foreign.getMessage().contains(SECOND.toString()), foreign.getMessage());
        assertTrue(persistent.isEmpty(), "nothing was bound: " + persistent.keySet());
    }

    static Plan plan(TrainingGraph graph, Function<Op, DeviceId> deviceOfOp, int devices, int quota, int sourceQuota) {
        ActorExecutorOptions options = ActorExecutorOptions.defaults().withRegisterQuota(quota)
                .withSourceQuota(sourceQuota);
        List<DeviceId> local = new ArrayList<>();
        for (int d = 0; d < devices; d++) {
            local.add(new DeviceId(0, d));
        }
        try (ActorExecutor executor = new ActorExecutor(graph, 3, options, withUpdate ->
                PlanCompiler.compile(graph, local, deviceOfOp, ActorExecutor.planOptions(options, withUpdate)))) {
            return executor.plan();
        }
    }

    private static long count(Plan plan, ActorKind kind) {
        return plan.actors().stream().filter(a -> a.kind() == kind).count();
    }

    private static ActorSpec actor(Plan plan, String name) {
        return plan.actors().stream().filter(a -> a.name().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no actor '" + name + "' in\n" + plan));
    }
}
