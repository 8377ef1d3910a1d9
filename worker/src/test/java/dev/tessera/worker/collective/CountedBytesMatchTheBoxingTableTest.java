package dev.tessera.worker.collective;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.graph.DType;
import dev.tessera.graph.Shape;
import dev.tessera.graph.TensorType;
import dev.tessera.runtime.transport.ElementType;
import dev.tessera.runtime.transport.TensorBuffer;
import dev.tessera.runtime.transport.TransportException;
import dev.tessera.sbp.DeviceId;
import dev.tessera.sbp.NdSbp;
import dev.tessera.sbp.Placement;
import dev.tessera.sbp.Sbp;
import dev.tessera.sbp.boxing.Boxing;
import dev.tessera.sbp.boxing.BoxingPlan;
import dev.tessera.sbp.boxing.CollectiveAlgorithm;
import dev.tessera.sbp.boxing.CollectiveBytes;
import dev.tessera.sbp.boxing.CollectiveStep;
import dev.tessera.sbp.boxing.Conversion;
import dev.tessera.sbp.boxing.GroupParts;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The bytes the runtime counts per device equal the boxing table's figure for that conversion
 * and algorithm, on 2, 3 and 4 devices, for sizes that divide the group and sizes that do not,
 * small (the plan chooses direct) and large (it chooses ring); and the figure a plan charges
 * ({@link BoxingPlan#bytesByDevice}) is what its recorded algorithm then sends.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class CountedBytesMatchTheBoxingTableTest {
    private static final List<Shape> SHAPES = List.of(Shape.of(12, 8), Shape.of(7, 5), Shape.of(5, 3, 2), Shape.of(67, 63));
    private static final List<Sbp[]> PAIRS = List.of(
            new Sbp[] {Sbp.partialSum(), Sbp.broadcast()}, new Sbp[] {Sbp.partialSum(), Sbp.split(0)},
            new Sbp[] {Sbp.partialSum(), Sbp.split(1)}, new Sbp[] {Sbp.split(0), Sbp.broadcast()},
            new Sbp[] {Sbp.split(1), Sbp.broadcast()}, new Sbp[] {Sbp.split(0), Sbp.split(1)},
            new Sbp[] {Sbp.split(1), Sbp.split(0)}, new Sbp[] {Sbp.broadcast(), Sbp.split(1)},
            new Sbp[] {Sbp.broadcast(), Sbp.partialSum()}, new Sbp[] {Sbp.split(0), Sbp.partialSum()});

    @ParameterizedTest(name = "{0} devices")
    @ValueSource(ints = {2, 3, 4})
    void shouldCountForEveryConversionAndAlgorithmTheBytesTheTableCharges(int p) throws Exception {
        try (MemberGroup devices = new MemberGroup(p)) {
            Placement placement = Placement.onNode(0, p);
            for (Shape shape : SHAPES) {
                for (Sbp[] pair : PAIRS) {
                    TensorType type = new TensorType(shape, DType.F32);
                    BoxingPlan plan = Boxing.plan("t", type, placement, new NdSbp(List.of(pair[0])),
                            new NdSbp(List.of(pair[1])));
                    CollectiveStep step = (CollectiveStep) plan.steps().get(0);
                    CollectiveStep.PeerGroup group = step.groups().get(0);
                    GroupParts parts = step.parts(group);
                    boolean large = group.tensorBytes() > CollectiveAlgorithm.DIRECT_MAX_BYTES;
                    if (algorithms(step.conversion()).size() == 2) {
                        assertEquals(large ? CollectiveAlgorithm.RING : CollectiveAlgorithm.DIRECT, step.algorithm(),
                                "the plan's choice for " + step);
                    }
                    for (CollectiveAlgorithm algorithm : algorithms(step.conversion())) {
                        devices.resetCounts();
                        runConversion(devices, parts, algorithm, 16);
                        for (int m = 0; m < p; m++) {
                            String context = step.conversion() + " " + algorithm + " of " + shape + " on " + p
                                    + " devices, member " + m;
                            assertEquals(CollectiveBytes.sentBy(parts, algorithm, m, 4), devices.sentBy(m), context);
                            if (algorithm == step.algorithm()) {
                                double charged = plan.bytesByDevice().getOrDefault(DeviceId.of(0, m), 0.0);
                                assertEquals(charged, devices.sentBy(m), 0.0, context + " (the plan's own figure)");
                            }
                        }
                        assertEvenSizeFormula(step.conversion(), algorithm, parts, p, devices);
                    }
                }
            }
        }
    }

    /** Where the parts are equal, the counts are the textbook figures: ring all-reduce 2(p-1)/p |T| per device, etc. */
    private static void assertEvenSizeFormula(Conversion conversion, CollectiveAlgorithm algorithm, GroupParts parts,
            int p, MemberGroup devices) {
        long bytes = parts.elements() * 4;
        boolean even = parts.elements() % ((long) p * p) == 0 && parts.shape().dim(0) % p == 0
                && parts.shape().dim(1) % p == 0;
        if (!even || !conversion.communicates()) {
            return;
        }
        double expected = switch (conversion) {
            case ALL_REDUCE -> algorithm == CollectiveAlgorithm.RING ? 2.0 * (p - 1) / p * bytes
                    : (double) bytes - (double) bytes / p + (p - 1) * (double) bytes / p;
            default -> conversion.bytesPerDevice(p, bytes);
        };
        for (int m = 0; m < p; m++) {
            assertEquals(expected, devices.sentBy(m), 1e-9, conversion + " " + algorithm + " even sizes, member " + m);
        }
    }

    @ParameterizedTest(name = "{0} devices")
    @ValueSource(ints = {2, 3, 4})
    void shouldCountTheTableFigureForBroadcastReduceAndSendReceive(int p) throws Exception {
        try (MemberGroup devices = new MemberGroup(p)) {
            for (long elements : new long[] {1, 11, 1000}) {
                for (int root = 0; root < p; root++) {
                    for (CollectiveAlgorithm algorithm : CollectiveAlgorithm.values()) {
                        devices.resetCounts();
                        runRooted(devices, true, algorithm, elements, root, 3);
                        for (int m = 0; m < p; m++) {
                            assertEquals(CollectiveBytes.broadcast(algorithm, p, root, m, elements * 4), devices.sentBy(m),
                                    "broadcast " + algorithm + " from " + root + " member " + m);
                        }
                        devices.resetCounts();
                        runRooted(devices, false, algorithm, elements, root, 3);
                        for (int m = 0; m < p; m++) {
                            assertEquals(CollectiveBytes.reduce(algorithm, p, root, m, elements * 4), devices.sentBy(m),
                                    "reduce " + algorithm + " onto " + root + " member " + m);
                        }
                    }
                }
            }
            devices.resetCounts();
            List<CollectiveSchedule> schedules = List.of(Collectives.sendReceive(13, 0, 0, 4),
                    Collectives.sendReceive(13, 0, 1, 4));
            TensorBuffer payload = filled(13, 0);
            TensorBuffer received = TensorBuffer.allocate(ElementType.F32, 13);
            devices.run(new int[] {0, 1}, schedules, List.of(payload, TensorBuffer.allocate(ElementType.F32, 13)),
                    List.of(TensorBuffer.allocate(ElementType.F32, 13), received));
            assertEquals(13 * 4, devices.sentBy(0));
            assertEquals(0, devices.sentBy(1));
            assertEquals((float) value(0, 12), received.getFloat(12));
        }
    }

    @Test
    void shouldSumBroadcastAndReduceExactlyInTheDefinedOrder() throws Exception {
        int p = 3;
        try (MemberGroup devices = new MemberGroup(p)) {
            for (CollectiveAlgorithm algorithm : CollectiveAlgorithm.values()) {
                List<TensorBuffer> outputs = runRooted(devices, false, algorithm, 7, 1, 2);
                for (int e = 0; e < 7; e++) {
                    // members 2, 0, 1 in that order (GroupParts.summand for root 1)
                    float expected = ((float) value(2, e) + (float) value(0, e)) + (float) value(1, e);
                    assertEquals(expected, outputs.get(1).getFloat(e), algorithm + " reduce element " + e);
                }
                outputs = runRooted(devices, true, algorithm, 7, 2, 2);
                for (int m = 0; m < p; m++) {
                    assertEquals((float) value(2, 6), outputs.get(m).getFloat(6), algorithm + " broadcast member " + m);
                }
            }
        }
    }

    @Test
    void shouldFailNamingThePeerWhenAMemberNeverRuns() throws Exception {
        try (MemberGroup devices = new MemberGroup(3)) {
            GroupParts parts = GroupParts.of(Conversion.ALL_REDUCE, Sbp.partialSum(), Sbp.broadcast(), Shape.of(9), 2);
            CollectiveSchedule schedule = Collectives.conversion(parts, CollectiveAlgorithm.RING, 0, 4);
            ExecutionException e = assertThrows(ExecutionException.class, () -> devices.runAlone(0, new int[] {0, 1},
                    schedule, filled(9, 0), TensorBuffer.allocate(ElementType.F32, 9), 300));
            CollectiveException failure = assertInstanceOf(CollectiveException.class, e.getCause());
            assertInstanceOf(TransportException.class, failure.getCause());
            assertTrue(failure.getMessage().contains("ring all-reduce") && failure.getMessage().contains("on cpu:0"),
                    failure.getMessage());
            assertTrue(failure.getMessage().contains("cpu:1"), "names the silent peer: " + failure.getMessage());
        }
    }

    private static List<CollectiveAlgorithm> algorithms(Conversion conversion) {
        return conversion == Conversion.ALL_REDUCE || conversion == Conversion.REDUCE_SCATTER
                || conversion == Conversion.ALL_GATHER ? List.of(CollectiveAlgorithm.RING, CollectiveAlgorithm.DIRECT)
                : List.of(CollectiveAlgorithm.DIRECT);
    }

    private static void runConversion(MemberGroup devices, GroupParts parts, CollectiveAlgorithm algorithm, int chunk)
            throws Exception {
        int p = parts.peers();
        int[] members = new int[p];
        List<CollectiveSchedule> schedules = new ArrayList<>();
        List<TensorBuffer> inputs = new ArrayList<>();
        List<TensorBuffer> outputs = new ArrayList<>();
        for (int m = 0; m < p; m++) {
            members[m] = m;
            schedules.add(Collectives.conversion(parts, algorithm, m, chunk));
            inputs.add(TensorBuffer.allocate(ElementType.F32, parts.before(m).shape().toArray()));
            outputs.add(TensorBuffer.allocate(ElementType.F32, parts.after(m).shape().toArray()));
        }
        devices.run(members, schedules, inputs, outputs);
    }

    private static List<TensorBuffer> runRooted(MemberGroup devices, boolean broadcast, CollectiveAlgorithm algorithm,
            long elements, int root, int chunk) throws Exception {
        int p = devices.size();
        int[] members = new int[p];
        List<CollectiveSchedule> schedules = new ArrayList<>();
        List<TensorBuffer> inputs = new ArrayList<>();
        List<TensorBuffer> outputs = new ArrayList<>();
        for (int m = 0; m < p; m++) {
            members[m] = m;
            schedules.add(broadcast ? Collectives.broadcast(algorithm, elements, p, root, m, chunk)
                    : Collectives.reduce(algorithm, elements, p, root, m, chunk));
            inputs.add(filled((int) elements, m));
            outputs.add(TensorBuffer.allocate(ElementType.F32, (int) elements));
        }
        devices.run(members, schedules, inputs, outputs);
        return outputs;
    }

    private static double value(int member, int element) {
        return 1.0 / (3 + member) + element * 0.1;
    }

    private static TensorBuffer filled(int elements, int member) {
        TensorBuffer b = TensorBuffer.allocate(ElementType.F32, elements);
        for (int e = 0; e < elements; e++) {
            b.putFloat(e, (float) value(member, e));
        }
        return b;
    }
}
