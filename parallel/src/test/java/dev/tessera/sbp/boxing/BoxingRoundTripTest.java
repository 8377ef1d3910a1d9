package dev.tessera.sbp.boxing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.graph.DType;
import dev.tessera.graph.Shape;
import dev.tessera.graph.TensorType;
import dev.tessera.sbp.DeviceId;
import dev.tessera.sbp.NdSbp;
import dev.tessera.sbp.Placement;
import dev.tessera.sbp.RandomLayouts;
import dev.tessera.sbp.Sbp;
import dev.tessera.sbp.Sharding;
import dev.tessera.tensor.HostTensor;
import dev.tessera.tensor.Tolerance;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Property tests: for random shapes (uneven sizes included), random 1-D and 2-D hierarchies and
 * random layout pairs, running a plan on host shards keeps the logical tensor, and the plan's
 * bytes are, member by member, the formulas of its chosen algorithm applied to the parts each
 * device holds.
 */
class BoxingRoundTripTest {
    private static final int CASES = 400;

    /** Shard, convert and assemble, per element: partial sums split and add values again, so rounding of the dtype. */
    private static void assertClose(HostTensor expected, HostTensor actual, String context) {
        Tolerance.of(expected.dtype()).requireClose(context, expected, actual);
    }

    private static void roundTrip(SplittableRandom random, boolean partialSums, DType dtype, boolean acrossPlacements) {
        roundTrip(random, partialSums, dtype, acrossPlacements, 2);
    }

    private static void roundTrip(SplittableRandom random, boolean partialSums, DType dtype, boolean acrossPlacements,
            int maxAxes) {
        Shape shape = RandomLayouts.shape(random);
        Placement from = RandomLayouts.placement(random, 0, maxAxes);
        Placement to = acrossPlacements ? RandomLayouts.placement(random, random.nextInt(2), maxAxes) : from;
        NdSbp fromSbp = RandomLayouts.sbp(random, from.axes(), shape.rank(), partialSums);
        NdSbp toSbp = RandomLayouts.sbp(random, to.axes(), shape.rank(), partialSums);
        TensorType type = new TensorType(shape, dtype);
        HostTensor logical = RandomLayouts.tensor(random, shape, dtype);

        BoxingPlan plan = Boxing.plan("t", type, from, fromSbp, to, toSbp);
        String context = plan.toString();
        Map<DeviceId, HostTensor> shards = HostSharding.shard(logical, from, fromSbp, random.nextLong());
        Map<DeviceId, HostTensor> converted = HostBoxing.apply(plan, shards);
        assertEquals(to.size(), converted.size(), context);
        HostTensor result = HostSharding.assemble(converted, to, toSbp);
        if (fromSbp.hasPartialSum() || toSbp.hasPartialSum()) {
            assertClose(logical, result, context);
        } else {
            assertEquals(logical, result, context);
        }
        assertVolumeIsTheRingFormula(plan, type, context);
        BoxingCost cost = Boxing.cost("t", type, from, fromSbp, to, toSbp);
        assertEquals(plan.totalBytes(), cost.totalBytes(), 1e-9 * Math.max(1, plan.totalBytes()), context);
        double slack = 1e-9 * Math.max(1, plan.totalBytes());
        if (plan.steps().size() == 1) {
            assertEquals(plan.maxBytesPerDevice(), cost.maxBytesPerDevice(), slack, context);
        } else {
            assertTrue(cost.maxBytesPerDevice() >= plan.maxBytesPerDevice() - slack, context + ": the cost's busiest "
                    + cost.maxBytesPerDevice() + " is below the plan's " + plan.maxBytesPerDevice());
            double bound = plan.steps().stream().mapToDouble(s -> s.bytesByDevice().values().stream()
                    .mapToDouble(Double::doubleValue).max().orElse(0)).sum();
            assertTrue(cost.maxBytesPerDevice() <= bound + slack, context + ": the cost's busiest "
                    + cost.maxBytesPerDevice() + " exceeds the sum of each step's busiest " + bound);
        }
    }

    /** Recomputes every step's bytes, device by device, from the layouts and the step's algorithm alone. */
    private static void assertVolumeIsTheRingFormula(BoxingPlan plan, TensorType type, String context) {
        double total = 0;
        for (BoxingStep step : plan.steps()) {
            double expected = 0;
            if (step instanceof CollectiveStep c) {
                boolean ring = c.algorithm() == CollectiveAlgorithm.RING;
                for (CollectiveStep.PeerGroup g : c.groups()) {
                    int p = g.devices().size();
                    long[] before = new long[p];
                    long[] after = new long[p];
                    long[] kept = new long[p];
                    for (int i = 0; i < p; i++) {
                        int rank = c.placement().rank(g.devices().get(i));
                        dev.tessera.sbp.Region b = Sharding.region(type.shape(), c.placement(), c.before(), rank);
                        dev.tessera.sbp.Region a = Sharding.region(type.shape(), c.placement(), c.after(), rank);
                        before[i] = b.elements();
                        after[i] = a.elements();
                        kept[i] = b.intersect(a).elements();
                    }
                    long gathered = java.util.Arrays.stream(before).sum();
                    for (int i = 0; i < p; i++) {
                        int next = (i + 1) % p;
                        long whole = before[0];
                        long elements = switch (c.conversion()) {
                            case ALL_REDUCE -> ring
                                    ? 2 * whole - Sharding.partLength((int) whole, p, i) - Sharding.partLength((int) whole, p, next)
                                    : whole + (p - 2) * Sharding.partLength((int) whole, p, i);
                            case REDUCE_SCATTER -> whole - after[i];
                            case ALL_GATHER -> ring ? gathered - before[next] : (p - 1) * before[i];
                            case ALL_TO_ALL -> before[i] - kept[i];
                            default -> 0;
                        };
                        double bytes = (double) elements * type.dtype().bytes();
                        assertEquals(bytes, c.bytesSentBy(g, i), 1e-9, context + " member " + i);
                        expected += bytes;
                    }
                }
            } else {
                SendRecvStep s = (SendRecvStep) step;
                for (SendRecvStep.Transfer t : s.transfers()) {
                    expected += t.source().equals(t.target()) ? 0 : t.region().elements() * type.dtype().bytes();
                }
                long received = 0;
                for (int rank = 0; rank < s.to().size(); rank++) {
                    received += Sharding.region(type.shape(), s.to(), s.toSbp(), rank).elements();
                }
                long moved = s.transfers().stream().mapToLong(t -> t.region().elements()).sum();
                assertEquals(received, moved, "every consumer element arrives exactly once: " + context);
            }
            assertEquals(expected, step.totalBytes(), 1e-6 * Math.max(1, expected), context);
            total += expected;
        }
        assertEquals(total, plan.totalBytes(), 1e-6 * Math.max(1, total), context);
        assertEquals(total, plan.bytesByDevice().values().stream().mapToDouble(Double::doubleValue).sum(),
                1e-6 * Math.max(1, total), context);
    }

    @Test
    void shouldKeepTheLogicalTensorExactlyForSplitAndBroadcastLayouts() {
        SplittableRandom random = new SplittableRandom(11);
        for (int i = 0; i < CASES; i++) {
            roundTrip(random, false, DType.F32, false);
        }
    }

    @Test
    void shouldKeepTheLogicalTensorWithPartialSumsWithinRoundingInF64() {
        SplittableRandom random = new SplittableRandom(12);
        for (int i = 0; i < CASES; i++) {
            roundTrip(random, true, DType.F64, false);
        }
    }

    @Test
    void shouldKeepTheLogicalTensorAcrossPlacements() {
        SplittableRandom random = new SplittableRandom(13);
        for (int i = 0; i < CASES; i++) {
            roundTrip(random, i % 2 == 0, DType.F64, true);
        }
    }

    @Test
    void shouldKeepTheLogicalTensorOnThreeAxisHierarchies() {
        SplittableRandom random = new SplittableRandom(14);
        for (int i = 0; i < CASES / 2; i++) {
            roundTrip(random, true, DType.F64, i % 4 == 0, 3);
        }
    }

    @Test
    void shouldProducePartialShardsThatAreNotZeroFilled() {
        Placement p = Placement.onNode(0, 3);
        HostTensor logical = HostTensor.ofDoubles(Shape.of(2, 2), new double[] {1, 2, 3, 4});
        Map<DeviceId, HostTensor> shards = HostSharding.shard(logical, p, NdSbp.of(Sbp.partialSum()), 5);
        for (HostTensor shard : shards.values()) {
            for (int i = 0; i < 4; i++) {
                assertTrue(shard.getDouble(i) != 0 && shard.getDouble(i) != logical.getDouble(i));
            }
        }
        assertClose(logical, HostSharding.assemble(shards, p, NdSbp.of(Sbp.partialSum())), "sum of partials");
    }
}
