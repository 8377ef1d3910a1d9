package dev.tessera.plan.compile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.proto.plan.ActorKind;
import dev.tessera.proto.plan.ActorProto;
import dev.tessera.proto.plan.OutputProto;
import dev.tessera.proto.plan.PlanProto;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class PlanMemoryTest {
    static java.util.List<ExamplePlans.Example> examples() {
        return ExamplePlans.all();
    }

    /**
     * With reuse a device holds at least its largest register of each payload type (some register
     * of it is alive at some point) and every non-compute register, and at most one buffer per
     * register; on the examples the forward's temporaries leave buffers the backward takes, so the
     * busiest device holds less than without reuse.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("examples")
    void shouldHoldBetweenTheLargestRegisterOfEachTypeAndOneBufferPerRegister(ExamplePlans.Example example) {
        PlanProto plan = example.plan();
        long[] without = PlanMemory.allocatedRegisterBytes(plan);
        long[] with = PlanMemory.withReuse(plan).orElseThrow();
        long[] floor = new long[without.length];
        Map<String, Long> largestOfType = new HashMap<>();
        for (ActorProto actor : plan.getActorsList()) {
            for (OutputProto output : actor.getOutputsList()) {
                if (actor.getKind() != ActorKind.COMPUTE) {
                    floor[actor.getDevice()] += output.getQuota() * output.getBytes();
                } else if (output.getBytes() > 0) {
                    largestOfType.merge(actor.getDevice() + "/" + output.getPayloadType(), output.getBytes(), Math::max);
                }
            }
        }
        largestOfType.forEach((key, bytes) -> floor[Integer.parseInt(key.substring(0, key.indexOf('/')))] += bytes);
        int busiest = 0;
        for (int d = 0; d < without.length; d++) {
            assertTrue(floor[d] <= with[d] && with[d] <= without[d], example + ", device " + d + ": " + floor[d]
                    + " <= " + with[d] + " <= " + without[d]);
            busiest = without[d] > without[busiest] ? d : busiest;
        }
        assertTrue(with[busiest] < without[busiest], example + ": reuse saves nothing on device " + busiest);
    }

    /**
     * Four compute actors in a chain, each output of the same type read only by the next, one
     * micro-batch: two buffers serve all four, and never three, since an actor gives its input
     * back only after acting, so its output cannot take the buffer it reads (the runtime's order).
     */
    @org.junit.jupiter.api.Test
    void shouldServeAChainWithTwoBuffers() {
        assertEquals(400, PlanMemory.allocatedRegisterBytes(chain(4, 1))[0]);
        assertEquals(200, PlanMemory.withReuse(chain(4, 1)).orElseThrow()[0]);
    }

    /**
     * The same chain of three with two micro-batches: the first actor's second step takes the
     * buffer the second actor gave back, so the third needs a third buffer.
     */
    @org.junit.jupiter.api.Test
    void shouldNotLetAnOutputTakeTheBufferItsActorReads() {
        assertEquals(300, PlanMemory.withReuse(chain(3, 2)).orElseThrow()[0]);
    }

    private static PlanProto chain(int length, int microBatches) {
        PlanProto.Builder plan = PlanProto.newBuilder().setMicroBatches(microBatches)
                .addDevices(dev.tessera.proto.plan.DeviceProto.newBuilder().setIndex(0));
        for (int id = 0; id < length; id++) {
            ActorProto.Builder actor = ActorProto.newBuilder().setId(id).setName("a" + id).setDevice(0)
                    .setKind(ActorKind.COMPUTE).addOutputs(OutputProto.newBuilder().setQuota(1).setBytes(100)
                            .setTensor("t" + id).setPayloadType("[25]:F32"));
            if (id > 0) {
                actor.addInputs(dev.tessera.proto.plan.InputEdge.newBuilder().setProducer(id - 1).setOutput(0));
            }
            plan.addActors(actor);
        }
        return plan.build();
    }
}
