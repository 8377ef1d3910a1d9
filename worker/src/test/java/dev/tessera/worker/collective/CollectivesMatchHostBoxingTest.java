package dev.tessera.worker.collective;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.collective.GroupCollective;
import dev.tessera.graph.DType;
import dev.tessera.graph.Graph;
import dev.tessera.graph.Op;
import dev.tessera.graph.Phase;
import dev.tessera.graph.Tensor;
import dev.tessera.graph.TensorKind;
import dev.tessera.lowering.CollectiveOps;
import dev.tessera.graph.Shape;
import dev.tessera.graph.TensorType;
import dev.tessera.runtime.transport.TensorBuffer;
import dev.tessera.sbp.DeviceId;
import dev.tessera.sbp.NdSbp;
import dev.tessera.sbp.Placement;
import dev.tessera.sbp.RandomLayouts;
import dev.tessera.sbp.Sbp;
import dev.tessera.sbp.Sharding;
import dev.tessera.sbp.boxing.Boxing;
import dev.tessera.sbp.boxing.BoxingPlan;
import dev.tessera.sbp.boxing.BoxingStep;
import dev.tessera.sbp.boxing.CollectiveAlgorithm;
import dev.tessera.sbp.boxing.CollectiveStep;
import dev.tessera.sbp.boxing.Conversion;
import dev.tessera.sbp.boxing.GroupParts;
import dev.tessera.sbp.boxing.HostBoxing;
import dev.tessera.sbp.boxing.HostSharding;
import dev.tessera.tensor.HostTensor;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The runtime's collectives against the reference: a random boxing plan (random shape with odd
 * sizes, 1-3 axis hierarchy of 1-4 devices per axis, random SBP pair) run group by group as
 * member schedules over the in-process Communicator — ring or direct, with a random chunk size and
 * a random number of rounds in flight —
 * leaves every device bit for bit the shard {@link HostBoxing} computes.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class CollectivesMatchHostBoxingTest {
    private static final int CASES = 300;
    /** Rounds in flight per member: one by one, a few, the default, more than any schedule's staging slots. */
    private static final int[] WINDOWS = {1, 2, 3, CollectiveMember.DEFAULT_WINDOW, 16};

    /** A random conversion on a random placement and the shards of a random tensor laid out as its source. */
    private record RandomCase(Placement placement, BoxingPlan plan, Map<DeviceId, HostTensor> shards) {
        /** Null when a layout would leave a device nothing (never chosen, see SignatureLifting). */
        static RandomCase draw(SplittableRandom random) {
            Shape shape = RandomLayouts.shape(random);
            Placement placement = RandomLayouts.placement(random, 0, 3);
            NdSbp from = RandomLayouts.sbp(random, placement.axes(), shape.rank(), true);
            NdSbp to = RandomLayouts.sbp(random, placement.axes(), shape.rank(), true);
            if (RandomLayouts.hasEmptyPart(shape, placement, from) || RandomLayouts.hasEmptyPart(shape, placement, to)) {
                return null;
            }
            DType dtype = random.nextBoolean() ? DType.F32 : DType.F64;
            BoxingPlan plan = Boxing.plan("t", new TensorType(shape, dtype), placement, from, placement, to);
            HostTensor logical = RandomLayouts.tensor(random, shape, dtype);
            return new RandomCase(placement, plan, HostSharding.shard(logical, placement, from, random.nextLong()));
        }
    }

    @Test
    void shouldLeaveEveryDeviceWhatHostBoxingComputesForRandomPlans() throws Exception {
        SplittableRandom random = new SplittableRandom(31);
        int checked = 0;
        int[] groupSizes = new int[5];
        try (MemberGroup devices = new MemberGroup(27)) {
            for (int i = 0; i < CASES; i++) {
                RandomCase drawn = RandomCase.draw(random);
                if (drawn == null) {
                    continue;
                }
                Placement placement = drawn.placement();
                BoxingPlan plan = drawn.plan();
                Map<DeviceId, HostTensor> shards = drawn.shards();
                int chunk = random.nextInt(1, 9);
                boolean flip = random.nextBoolean();
                int window = WINDOWS[i % WINDOWS.length];

                Map<DeviceId, HostTensor> actual = run(devices, plan, shards, chunk, flip, window, groupSizes);

                Map<DeviceId, HostTensor> expected = HostBoxing.apply(plan, shards);
                for (DeviceId device : placement.devices()) {
                    assertEquals(expected.get(device), actual.get(device), plan + "\nchunk " + chunk + ", other algorithm "
                            + flip + ", window " + window + ", on " + device);
                }
                checked++;
            }
        }
        assertTrue(checked >= CASES / 2, "only " + checked + " of " + CASES + " random cases had no empty part");
        for (int p = 2; p <= 4; p++) {
            assertTrue(groupSizes[p] > 20, "groups of " + p + " communicated only " + groupSizes[p] + " times");
        }
    }

    /**
     * The same through the lowering: the boxing plan expanded by {@link CollectiveOps} into one
     * {@link GroupCollective} op per member, each group run from what its ops say (parts,
     * algorithm, rank), leaves every device what {@link HostBoxing} computes.
     */
    @Test
    void shouldLeaveEveryDeviceWhatHostBoxingComputesWhenRunFromTheLoweredMemberOps() throws Exception {
        SplittableRandom random = new SplittableRandom(47);
        int checked = 0;
        try (MemberGroup devices = new MemberGroup(27)) {
            for (int i = 0; i < CASES; i++) {
                RandomCase drawn = RandomCase.draw(random);
                if (drawn == null) {
                    continue;
                }
                Placement placement = drawn.placement();
                BoxingPlan plan = drawn.plan();
                Map<DeviceId, HostTensor> shards = drawn.shards();

                Map<DeviceId, HostTensor> actual = runLowered(devices, plan, placement, shards);

                Map<DeviceId, HostTensor> expected = HostBoxing.apply(plan, shards);
                for (DeviceId device : placement.devices()) {
                    assertEquals(expected.get(device), actual.get(device), plan + "\non " + device);
                }
                checked++;
            }
        }
        assertTrue(checked >= CASES / 2, "only " + checked + " of " + CASES + " random cases had no empty part");
    }

    private static Map<DeviceId, HostTensor> runLowered(MemberGroup devices, BoxingPlan plan, Placement placement,
            Map<DeviceId, HostTensor> shards) throws Exception {
        Graph graph = new Graph();
        List<Op> ops = new ArrayList<>();
        Map<Op, Integer> deviceOf = new HashMap<>();
        CollectiveOps lowering = new CollectiveOps(placement.devices(), (name, def, inputs, phase, rank) -> {
            Op op = graph.addOp(name + "@" + rank, def, inputs, phase);
            ops.add(op);
            deviceOf.put(op, rank);
            return op;
        });
        Tensor[] stored = new Tensor[placement.size()];
        Map<Tensor, HostTensor> values = new HashMap<>();
        for (int r = 0; r < stored.length; r++) {
            HostTensor shard = shards.get(placement.device(r));
            stored[r] = graph.newTensor("t@" + r, shard.shape(), shard.dtype(), TensorKind.ACTIVATION, null);
            values.put(stored[r], shard);
        }
        Tensor[] result = lowering.box(plan, stored, Phase.FORWARD, false);
        Map<Integer, List<Op>> groups = new LinkedHashMap<>();
        for (Op op : ops) {
            groups.computeIfAbsent(((GroupCollective) op.def()).group(), g -> new ArrayList<>()).add(op);
        }
        for (List<Op> members : groups.values()) {
            members.sort(java.util.Comparator.comparingInt(op -> ((GroupCollective) op.def()).member()));
            int[] memberDevices = new int[members.size()];
            List<CollectiveSchedule> schedules = new ArrayList<>();
            List<TensorBuffer> inputs = new ArrayList<>();
            List<TensorBuffer> outputs = new ArrayList<>();
            for (int m = 0; m < members.size(); m++) {
                Op op = members.get(m);
                GroupCollective def = (GroupCollective) op.def();
                assertEquals(m, def.member());
                memberDevices[m] = deviceOf.get(op);
                schedules.add(Collectives.conversion(def.parts(), def.algorithm(), m, 5));
                inputs.add(MemberGroup.toBuffer(values.get(op.input(0))));
                outputs.add(TensorBuffer.allocate(MemberGroup.elementType(op.output(0).dtype()),
                        op.output(0).shape().toArray()));
            }
            devices.run(memberDevices, schedules, inputs, outputs);
            for (int m = 0; m < members.size(); m++) {
                Op op = members.get(m);
                values.put(op.output(0), MemberGroup.toHost(outputs.get(m), op.output(0).dtype()));
            }
        }
        Map<DeviceId, HostTensor> out = new LinkedHashMap<>();
        for (int r = 0; r < result.length; r++) {
            assertEquals(Sharding.localShape(plan.type().shape(), placement, plan.to(), r), result[r].shape());
            out.put(placement.device(r), values.get(result[r]));
        }
        return out;
    }

    /** Runs each step's groups with their members' schedules; {@code flip} uses the other algorithm where one exists. */
    private static Map<DeviceId, HostTensor> run(MemberGroup devices, BoxingPlan plan, Map<DeviceId, HostTensor> shards,
            int chunk, boolean flip, int window, int[] groupSizes) throws Exception {
        Map<DeviceId, HostTensor> current = new LinkedHashMap<>(shards);
        for (BoxingStep step : plan.steps()) {
            CollectiveStep collective = (CollectiveStep) step;
            CollectiveAlgorithm algorithm = flip ? other(collective.conversion(), collective.algorithm())
                    : collective.algorithm();
            for (CollectiveStep.PeerGroup group : collective.groups()) {
                GroupParts parts = collective.parts(group);
                int p = group.devices().size();
                int[] members = new int[p];
                List<CollectiveSchedule> schedules = new ArrayList<>();
                List<TensorBuffer> inputs = new ArrayList<>();
                List<TensorBuffer> outputs = new ArrayList<>();
                for (int m = 0; m < p; m++) {
                    DeviceId device = group.devices().get(m);
                    members[m] = collective.placement().rank(device);
                    schedules.add(Collectives.conversion(parts, algorithm, m, chunk));
                    inputs.add(MemberGroup.toBuffer(current.get(device)));
                    outputs.add(TensorBuffer.allocate(MemberGroup.elementType(group.type().dtype()),
                            parts.after(m).shape().toArray()));
                }
                devices.run(members, schedules, inputs, outputs, window);
                for (int m = 0; m < p; m++) {
                    current.put(group.devices().get(m), MemberGroup.toHost(outputs.get(m), group.type().dtype()));
                }
                if (collective.conversion().communicates()) {
                    groupSizes[Math.min(p, 4)]++;
                }
            }
        }
        return current;
    }

    private static CollectiveAlgorithm other(Conversion conversion, CollectiveAlgorithm chosen) {
        boolean hasRing = conversion == Conversion.ALL_REDUCE || conversion == Conversion.REDUCE_SCATTER
                || conversion == Conversion.ALL_GATHER;
        return hasRing && chosen == CollectiveAlgorithm.DIRECT ? CollectiveAlgorithm.RING : CollectiveAlgorithm.DIRECT;
    }
}
