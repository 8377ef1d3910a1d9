package dev.tessera.plan.fragment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.tessera.plan.compile.ExamplePlans;
import dev.tessera.proto.plan.PlanFragment;
import dev.tessera.proto.plan.PlanProto;
import dev.tessera.proto.plan.RemoteEdge;
import dev.tessera.sbp.DeviceId;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class PlanFragmentsTest {
    static Stream<ExamplePlans.Example> examples() {
        return ExamplePlans.all().stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("examples")
    void shouldGiveBackThePlanWhenFragmentsOfOneProcessPerDeviceAreJoined(ExamplePlans.Example example)
            throws InvalidProtocolBufferException {
        PlanProto plan = example.plan();
        List<PlanFragment> fragments = PlanFragments.cut(plan, onePerDevice(plan));
        assertEquals(plan.getDevicesCount(), fragments.size());
        List<PlanFragment> shipped = new ArrayList<>();
        for (PlanFragment fragment : fragments) {
            shipped.add(PlanFragment.parseFrom(fragment.toByteArray()));
        }
        assertEquals(plan, PlanFragments.join(shipped));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("examples")
    void shouldMatchEveryEdgeBetweenProcessesAsASendAndAReceiveWithTheSameId(ExamplePlans.Example example) {
        PlanProto plan = example.plan();
        List<PlanFragment> fragments = PlanFragments.cut(plan, onePerDevice(plan));
        int crossing = 0;
        for (var actor : plan.getActorsList()) {
            for (var input : actor.getInputsList()) {
                crossing += plan.getActors(input.getProducer()).getDevice() != actor.getDevice() ? 1 : 0;
            }
        }
        Map<Integer, RemoteEdge> sends = new LinkedHashMap<>();
        for (PlanFragment fragment : fragments) {
            for (RemoteEdge send : fragment.getSendsList()) {
                assertEquals(fragment.getProcess(), send.getProducerProcess());
                sends.put(send.getId(), send);
            }
        }
        int receives = 0;
        for (PlanFragment fragment : fragments) {
            for (RemoteEdge receive : fragment.getReceivesList()) {
                assertEquals(fragment.getProcess(), receive.getConsumerProcess());
                assertEquals(receive, sends.get(receive.getId()), "the send of edge " + receive.getId());
                assertNotEquals(receive.getProducerProcess(), receive.getConsumerProcess());
                receives++;
            }
            assertTrue(FragmentValidator.problems(fragment, identity(fragment)).isEmpty(),
                    FragmentValidator.problems(fragment, identity(fragment)).toString());
        }
        assertEquals(crossing, sends.size(), "every edge between devices leaves its process here");
        assertEquals(crossing, receives);
    }

    @Test
    void shouldCutFourDevicesIntoTwoProcessesAndJoinThemBack() {
        PlanProto plan = example("gpt, data parallel 4");
        List<PlanFragment> fragments = PlanFragments.cut(plan, Map.of(0, 0, 1, 0, 2, 1, 3, 1));
        assertEquals(2, fragments.size());
        assertEquals(2, fragments.get(1).getDevicesCount());
        assertTrue(fragments.get(0).getSendsCount() > 0, "the all-reduces cross between the processes");
        assertEquals(plan.getActorsCount(), fragments.get(0).getActorsCount() + fragments.get(1).getActorsCount());
        assertEquals(plan, PlanFragments.join(List.of(fragments.get(1), fragments.get(0))));
    }

    @Test
    void shouldCutTwoStagesOnTwoNodesIntoOneProcessPerNode() {
        PlanProto plan = example("mlp, two stages");
        Map<Integer, Integer> perNode = PlanFragments.processPerNode(plan);
        assertEquals(Map.of(0, 0, 1, 1), perNode);
        List<PlanFragment> fragments = PlanFragments.cut(plan, perNode);
        assertTrue(fragments.get(0).getSendsCount() > 0 && fragments.get(1).getSendsCount() > 0,
                "activations go forward and gradients back");
        assertEquals(plan, PlanFragments.join(fragments));
    }

    @Test
    void shouldRefuseToCutWhenADeviceHasNoProcess() {
        PlanProto plan = example("mlp, data parallel 2");
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                () -> PlanFragments.cut(plan, Map.of(0, 0)));
        assertTrue(error.getMessage().contains("device 0:1 (index 1) has no process"), error.getMessage());
    }

    @Test
    void shouldRefuseToJoinWhenAFragmentIsMissingOrASendHasNoPartner() {
        PlanProto plan = example("mlp, data parallel 2");
        List<PlanFragment> fragments = PlanFragments.cut(plan, Map.of(0, 0, 1, 1));
        InvalidFragmentException missing = assertThrows(InvalidFragmentException.class,
                () -> PlanFragments.join(List.of(fragments.get(0))));
        assertTrue(missing.getMessage().contains("the fragment of process 1 is missing"), missing.getMessage());
        assertTrue(missing.getMessage().contains("has no partner receive in process 1"), missing.getMessage());
    }

    static ProcessIdentity identity(PlanFragment fragment) {
        return new ProcessIdentity(fragment.getJobId(), fragment.getPlanVersion(), fragment.getProcess(),
                fragment.getDevicesList().stream().map(d -> new DeviceId(d.getNode(), d.getDevice())).toList());
    }

    static PlanProto example(String name) {
        return ExamplePlans.all().stream().filter(e -> e.name().equals(name)).findFirst().orElseThrow().plan();
    }

    private static Map<Integer, Integer> onePerDevice(PlanProto plan) {
        Map<Integer, Integer> processes = new LinkedHashMap<>();
        plan.getDevicesList().forEach(device -> processes.put(device.getIndex(), device.getIndex()));
        return processes;
    }
}
