package dev.tessera.plan.compile;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.proto.plan.ActorKind;
import dev.tessera.proto.plan.ActorProto;
import dev.tessera.proto.plan.CollectiveAlgorithm;
import dev.tessera.proto.plan.CollectiveGroup;
import dev.tessera.proto.plan.PlanProto;
import dev.tessera.proto.plan.SinkRole;
import dev.tessera.sbp.DeviceId;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class PlanCompilerTest {
    private static final List<DeviceId> ONE_DEVICE = List.of(new DeviceId(0, 0));

    static Stream<ExamplePlans.Example> examples() {
        return ExamplePlans.all().stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("examples")
    void shouldRoundTripEveryExamplePlanThroughProtobufBytesUnchanged(ExamplePlans.Example example)
            throws InvalidProtocolBufferException {
        byte[] bytes = example.plan().toByteArray();
        PlanProto parsed = PlanProto.parseFrom(bytes);
        assertEquals(example.plan(), parsed);
        assertArrayEquals(bytes, parsed.toByteArray());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("examples")
    void shouldGiveEveryOutputAQuotaAndEveryEdgeAnActorOfThePlan(ExamplePlans.Example example) {
        PlanProto plan = example.plan();
        for (ActorProto actor : plan.getActorsList()) {
            assertEquals(actor.getId(), plan.getActorsList().indexOf(actor));
            actor.getOutputsList().forEach(output -> assertTrue(output.getQuota() >= 1, actor.getName()));
            actor.getInputsList().forEach(input -> {
                ActorProto producer = plan.getActors(input.getProducer());
                assertTrue(input.getOutput() < producer.getOutputsCount(), actor.getName());
                assertTrue(producer.getDevice() == actor.getDevice() || actor.getKind() == ActorKind.TRANSFER,
                        actor.getName() + " reads another device only through a transfer");
            });
            Stream.concat(actor.getControlPredecessorsList().stream(), actor.getIterationPredecessorsList().stream())
                    .forEach(before -> assertEquals(actor.getDevice(), plan.getActors(before).getDevice(),
                            "control edges stay on one device: " + actor.getName()));
        }
    }

    @Test
    void shouldCompileEveryOpOfOneDeviceToOneActorWithOneSourcePerDataInputAndTwoSinks() {
        TrainingGraph graph = ExamplePlans.mlp();
        PlanProto plan = PlanCompiler.compile(graph, ONE_DEVICE, op -> ONE_DEVICE.get(0), PlanOptions.of(1, 3));
        assertEquals(graph.ops().size(), count(plan, ActorKind.COMPUTE));
        assertEquals(2, count(plan, ActorKind.SOURCE));
        assertEquals(2, count(plan, ActorKind.SINK));
        assertEquals(0, count(plan, ActorKind.TRANSFER));
        for (ActorProto actor : plan.getActorsList()) {
            int expected = actor.getKind() == ActorKind.SOURCE ? 3 : 1;
            actor.getOutputsList().forEach(output -> assertEquals(expected, output.getQuota(), actor.getName()));
        }
        assertEquals("0:0", plan.getDevices(0).getNode() + ":" + plan.getDevices(0).getDevice());
        assertEquals(2, plan.getMicroBatches());
    }

    @Test
    void shouldBindEveryOperandOfAComputeActorToARegisterABufferOrTheSchedule() {
        TrainingGraph graph = ExamplePlans.mlp();
        PlanProto plan = PlanCompiler.compile(graph, ONE_DEVICE, op -> ONE_DEVICE.get(0), PlanOptions.of(1, 2));
        ActorProto update = actor(plan, "fc1.weight.update");
        assertEquals(graph.updateOps().stream().filter(op -> op.name().equals("fc1.weight.update")).findFirst()
                .orElseThrow().inputs().size(), update.getCompute().getOperandsCount());
        assertTrue(update.getCompute().getOperands(0).getPersistent(), "the weight is bound directly");
        assertTrue(update.getCompute().getOperandsList().stream().anyMatch(o -> o.getLearningRate()));
        assertTrue(update.getCompute().getOperandsList().stream().anyMatch(o -> o.getOptimizerStep()));
        ActorProto matmul = actor(plan, graph.forwardOps().get(0).name());
        assertEquals("x", matmul.getCompute().getOperands(0).getTensor());
        assertEquals(0, matmul.getCompute().getOperands(0).getRegisterInput());
    }

    @Test
    void shouldGiveTheJobIdAndPlanVersionToThePlan() {
        PlanProto plan = PlanCompiler.compile(ExamplePlans.mlp(), ONE_DEVICE, op -> ONE_DEVICE.get(0),
                PlanOptions.of(1, 2).withJob("fashion-mnist", 7));
        assertEquals("fashion-mnist", plan.getJobId());
        assertEquals(7, plan.getPlanVersion());
    }

    @Test
    void shouldCompileTheSamePlanEveryTime() {
        ExamplePlans.Example first = ExamplePlans.all().get(2);
        assertEquals(first.plan(), PlanCompiler.compile(first.distributed(), PlanOptions.of(1, 2).withJob("example", 3)));
    }

    @Test
    void shouldGroupTheMembersOfEachGradientAllReduceOnePerDevice() {
        PlanProto plan = ExamplePlans.all().stream().filter(e -> e.name().equals("mlp, data parallel 4")).findFirst()
                .orElseThrow().plan();
        assertTrue(plan.getCollectiveGroupsCount() > 0, "data parallel sums the weight gradients");
        Set<Integer> grouped = new HashSet<>();
        for (CollectiveGroup group : plan.getCollectiveGroupsList()) {
            assertEquals(plan.getCollectiveGroupsList().indexOf(group), group.getIndex());
            assertEquals(4, group.getMembersCount(), group.getName());
            Set<Integer> devices = new HashSet<>();
            for (int member : group.getMembersList()) {
                assertTrue(grouped.add(member), "an actor is a member of one collective");
                assertEquals(group.getOp(), plan.getActors(member).getOp());
                devices.add(plan.getActors(member).getDevice());
            }
            assertEquals(4, devices.size(), "one member per device");
            // the boxing table's choice over the tensor the group holds together (an all-reduce's whole tensor)
            assertEquals(group.getBytes() <= dev.tessera.sbp.boxing.CollectiveAlgorithm.DIRECT_MAX_BYTES
                    ? CollectiveAlgorithm.DIRECT : CollectiveAlgorithm.RING, group.getAlgorithm(), group.getName());
            assertEquals(PlanOptions.DEFAULT_CHUNK_BYTES, group.getChunkBytes());
        }
    }

    @Test
    void shouldCheckTheGradientNormOnEveryDeviceThatUpdates() {
        PlanProto plan = ExamplePlans.all().stream().filter(e -> e.name().equals("mlp, data parallel 2")).findFirst()
                .orElseThrow().plan();
        List<ActorProto> sinks = plan.getActorsList().stream().filter(a -> a.getKind() == ActorKind.SINK).toList();
        assertEquals(1, sinks.stream().filter(s -> s.getSink().getRole() == SinkRole.LOSS).count());
        assertEquals(1, sinks.stream().filter(s -> s.getSink().getRole() == SinkRole.GRADIENT_NORM).count());
        assertEquals(1, sinks.stream().filter(s -> s.getSink().getRole() == SinkRole.GRADIENT_NORM_CHECK).count());
        for (ActorProto actor : plan.getActorsList()) {
            if (actor.getName().endsWith(".update") || actor.getName().contains(".update@")) {
                assertTrue(actor.getControlPredecessorsList().stream().map(plan::getActors)
                        .anyMatch(before -> before.getOp().equals("GradNormSink")), actor.getName());
            }
        }
    }

    @Test
    void shouldGiveATensorItsOwnQuotaOnItsProducerAndEveryTransferOfItKeepingTheOthers() {
        ExamplePlans.Example stages = ExamplePlans.all().stream().filter(e -> e.name().equals("mlp, two stages"))
                .findFirst().orElseThrow();
        ActorProto crossing = stages.plan().getActorsList().stream()
                .filter(a -> a.getKind() == ActorKind.TRANSFER && !a.getOutputs(0).getTensor().isEmpty()
                        && stages.plan().getActors(a.getInputs(0).getProducer()).getKind() == ActorKind.COMPUTE)
                .findFirst().orElseThrow();
        String tensor = crossing.getOutputs(0).getTensor();

        PlanProto plan = PlanCompiler.compile(stages.distributed(),
                PlanOptions.of(1, 2).withJob("example", 3).withOutputQuota(tensor, 3));

        assertEquals(stages.plan().getActorsCount(), plan.getActorsCount());
        int changed = 0;
        for (int a = 0; a < plan.getActorsCount(); a++) {
            for (int o = 0; o < plan.getActors(a).getOutputsCount(); o++) {
                int quota = plan.getActors(a).getOutputs(o).getQuota();
                if (plan.getActors(a).getOutputs(o).getTensor().equals(tensor)) {
                    assertEquals(3, quota, plan.getActors(a).getName());
                    changed++;
                } else {
                    assertEquals(stages.plan().getActors(a).getOutputs(o).getQuota(), quota, plan.getActors(a).getName());
                }
            }
        }
        assertEquals(2, changed, "the producer's output and the transfer's");
    }

    @Test
    void shouldRejectAQuotaForATensorNoOutputHolds() {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class, () -> PlanCompiler.compile(
                ExamplePlans.mlp(), ONE_DEVICE, op -> ONE_DEVICE.get(0), PlanOptions.of(1, 2).withOutputQuota("fc1.weight", 2)));
        assertTrue(error.getMessage().startsWith("PlanOptions sets register quotas for [fc1.weight], which no output"),
                error.getMessage());
        assertThrows(IllegalArgumentException.class, () -> PlanOptions.of(1, 2).withOutputQuota("x", 0));
    }

    @Test
    void shouldRejectAnOpPlacedOnADeviceThePlanDoesNotHave() {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                () -> PlanCompiler.compile(ExamplePlans.mlp(), ONE_DEVICE, op -> DeviceId.of(0, 1),
                        PlanOptions.of(1, 2)));
        assertTrue(error.getMessage().contains("device 0:1"), error.getMessage());
        assertTrue(error.getMessage().contains("1 devices [0:0]"), error.getMessage());
    }

    private static long count(PlanProto plan, ActorKind kind) {
        return plan.getActorsList().stream().filter(a -> a.getKind() == kind).count();
    }

    static ActorProto actor(PlanProto plan, String name) {
        return plan.getActorsList().stream().filter(a -> a.getName().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no actor '" + name + "'"));
    }
}
