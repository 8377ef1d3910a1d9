package dev.tessera.worker.transport;

import dev.tessera.graph.DType;
import dev.tessera.graph.Shape;
import dev.tessera.graph.TensorType;
import dev.tessera.runtime.plan.Device;
import dev.tessera.runtime.transport.ElementType;
import dev.tessera.runtime.transport.SentBytes;
import dev.tessera.runtime.transport.TensorBuffer;
import dev.tessera.runtime.transport.Transport;
import dev.tessera.runtime.transport.TransportCommunicator;
import dev.tessera.sbp.DeviceId;
import dev.tessera.sbp.NdSbp;
import dev.tessera.sbp.Placement;
import dev.tessera.sbp.RandomLayouts;
import dev.tessera.sbp.Sbp;
import dev.tessera.sbp.boxing.Boxing;
import dev.tessera.sbp.boxing.BoxingPlan;
import dev.tessera.sbp.boxing.CollectiveAlgorithm;
import dev.tessera.sbp.boxing.CollectiveStep;
import dev.tessera.sbp.boxing.GroupParts;
import dev.tessera.sbp.boxing.HostBoxing;
import dev.tessera.sbp.boxing.HostSharding;
import dev.tessera.tensor.HostTensor;
import dev.tessera.worker.collective.CollectiveMember;
import dev.tessera.worker.collective.Collectives;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * One ring collective that every process of a multi-process test builds identically from the
 * same seed: a tensor with odd sizes, its shards on p devices, the boxing plan, and what
 * {@link HostBoxing} says each device holds afterwards. Each process runs its own member over
 * its Aeron transport and compares its output with that, bit for bit.
 */
record RingCase(String name, BoxingPlan plan, Map<DeviceId, HostTensor> shards, Map<DeviceId, HostTensor> expected) {
    /** "all-reduce" (P to B, F32) or "all-gather" (S(0) to B, F64) over {@code processes} devices. */
    static RingCase of(String name, int processes) {
        SplittableRandom random = new SplittableRandom(name.hashCode() * 31L + processes);
        boolean reduce = name.equals("all-reduce");
        Shape shape = Shape.of(1031, 67);
        DType dtype = reduce ? DType.F32 : DType.F64;
        Placement placement = Placement.onNode(0, processes);
        NdSbp from = NdSbp.of(reduce ? Sbp.partialSum() : Sbp.split(0));
        NdSbp to = NdSbp.of(Sbp.broadcast());
        BoxingPlan plan = Boxing.plan("t", new TensorType(shape, dtype), placement, from, placement, to);
        HostTensor logical = RandomLayouts.tensor(random, shape, dtype);
        Map<DeviceId, HostTensor> shards = HostSharding.shard(logical, placement, from, random.nextLong());
        return new RingCase(name, plan, shards, HostBoxing.apply(plan, shards));
    }

    /**
     * Runs member {@code rank} (device index = rank) over {@code transport}, ring algorithm,
     * messages of at most 20,000 elements, and returns its output.
     */
    HostTensor runMember(Transport transport, int rank, int groupId, List<Device> group, ExecutorService executor)
            throws Exception {
        CollectiveStep step = (CollectiveStep) plan.steps().get(0);
        CollectiveStep.PeerGroup peers = step.groups().get(0);
        GroupParts parts = step.parts(peers);
        DeviceId device = peers.devices().get(rank);
        TensorBuffer input = toBuffer(shards.get(device));
        TensorBuffer output = TensorBuffer.allocate(input.type(), parts.after(rank).shape().toArray());
        TransportCommunicator communicator = new TransportCommunicator(transport, groupId, group, rank,
                new SentBytes(group.size()));
        CollectiveMember member = new CollectiveMember(Collectives.conversion(parts, CollectiveAlgorithm.RING, rank, 20_000),
                communicator, input.type());
        member.run(member.bind(input, output), executor).get(60, TimeUnit.SECONDS);
        return toHost(output, plan.type().dtype());
    }

    HostTensor expectedOn(int rank) {
        CollectiveStep step = (CollectiveStep) plan.steps().get(0);
        return expected.get(step.groups().get(0).devices().get(rank));
    }

    static TensorBuffer toBuffer(HostTensor t) {
        TensorBuffer b = TensorBuffer.allocate(t.dtype() == DType.F64 ? ElementType.F64 : ElementType.F32,
                t.shape().toArray());
        for (int i = 0; i < t.size(); i++) {
            if (t.dtype() == DType.F64) {
                b.putDouble(i, t.doubles()[i]);
            } else {
                b.putFloat(i, t.floats()[i]);
            }
        }
        return b;
    }

    static HostTensor toHost(TensorBuffer b, DType dtype) {
        HostTensor t = HostTensor.zeros(Shape.of(b.shape()), dtype);
        for (int i = 0; i < t.size(); i++) {
            if (dtype == DType.F64) {
                t.doubles()[i] = b.getDouble(i);
            } else {
                t.floats()[i] = b.getFloat(i);
            }
        }
        return t;
    }
}
