package dev.tessera.ops;

import static dev.tessera.sbp.Sbp.broadcast;
import static dev.tessera.sbp.Sbp.split;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.graph.DType;
import dev.tessera.graph.Shape;
import dev.tessera.graph.TensorType;
import dev.tessera.sbp.DeviceId;
import dev.tessera.sbp.NdSbp;
import dev.tessera.sbp.NdSbpSignature;
import dev.tessera.sbp.Placement;
import dev.tessera.sbp.Region;
import dev.tessera.sbp.Sharding;
import dev.tessera.sbp.SignatureLifting;
import dev.tessera.sbp.boxing.HostSharding;
import dev.tessera.tensor.HostTensor;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Reshape's row split on merges and splits of leading axes: where the planner keeps it, running
 * the reshape on each device's shard (a host reference: the same row-major data under the
 * device's output shape) assembles to the reshaped logical tensor; where the device's rows
 * before and after are different elements, the planner drops it.
 */
class ReshapeSbpTest {

    private static NdSbpSignature rowSplit(Placement placement) {
        NdSbp rows = placement.axes() == 1 ? NdSbp.of(split(0)) : NdSbp.of(split(0), broadcast());
        return new NdSbpSignature(List.of(rows), List.of(rows));
    }

    private static boolean liftedWithRowSplit(Shape from, Shape to, Placement placement) {
        List<NdSbpSignature> lifted = SignatureLifting.lift(new Reshape(to), List.of(new TensorType(from, DType.F64)), placement);
        return lifted.contains(rowSplit(placement));
    }

    private static HostTensor random(Shape shape, long seed) {
        Random random = new Random(seed);
        double[] data = new double[(int) shape.size()];
        for (int i = 0; i < data.length; i++) {
            data[i] = random.nextGaussian();
        }
        return HostTensor.ofDoubles(shape, data);
    }

    /** Shards {@code from}, reshapes every shard locally to its declared output shape, assembles. */
    private static void assertLocalReshapeAssembles(Shape from, Shape to, Placement placement) {
        assertLocalReshapeAssembles(from, to, placement, rowSplit(placement).inputs().get(0));
    }

    private static void assertLocalReshapeAssembles(Shape from, Shape to, Placement placement, NdSbp rows) {
        HostTensor logical = random(from, 7);
        Map<DeviceId, HostTensor> shards = HostSharding.shard(logical, placement, rows, 11);
        Map<DeviceId, HostTensor> reshaped = new LinkedHashMap<>();
        for (int rank = 0; rank < placement.size(); rank++) {
            DeviceId device = placement.device(rank);
            Shape local = Sharding.localShape(to, placement, rows, rank);
            HostTensor shard = shards.get(device);
            assertEquals(local.size(), shard.size(), "device " + rank + " holds as many elements as its output part");
            reshaped.put(device, HostTensor.ofDoubles(local, shard.doubles()));
        }
        HostTensor expected = HostTensor.ofDoubles(to, logical.doubles());
        assertEquals(expected, HostSharding.assemble(reshaped, placement, rows));
    }

    @Test
    void shouldKeepTheRowSplitWhenMergingLeadingAxesOfAnEvenBatch() {
        Shape from = Shape.of(4, 3, 5);
        Shape to = Shape.of(12, 5);
        for (Placement placement : List.of(Placement.onNode(0, 2), Placement.onNode(0, 4), Placement.onNode(0, 2, 1))) {
            assertTrue(liftedWithRowSplit(from, to, placement), placement.toString());
            assertTrue(liftedWithRowSplit(to, from, placement), placement.toString());
            assertLocalReshapeAssembles(from, to, placement);
            assertLocalReshapeAssembles(to, from, placement);
        }
    }

    @Test
    void shouldKeepTheRowSplitWhenTheLeadingAxisIsUnchangedAndUneven() {
        Shape from = Shape.of(5, 4);
        Shape to = Shape.of(5, 2, 2);
        Placement placement = Placement.onNode(0, 2);
        assertTrue(liftedWithRowSplit(from, to, placement));
        assertLocalReshapeAssembles(from, to, placement);
    }

    @Test
    void shouldKeepTheRowSplitWhenPairsOfRowsMergeIntoLongerRows() {
        // 6 rows of 4 on 3 devices are 2 rows (8 elements) each; 3 rows of 8 are 1 row each.
        Shape from = Shape.of(6, 4);
        Shape to = Shape.of(3, 8);
        Placement placement = Placement.onNode(0, 3);
        assertTrue(liftedWithRowSplit(from, to, placement));
        assertLocalReshapeAssembles(from, to, placement);
    }

    @Test
    void shouldDropTheRowSplitWhenAnUnevenBatchMergesIntoRowsThatDoNotLineUp() {
        // 3 batches of 4 on 2 devices: 2 and 1 batches, i.e. 8 and 4 rows; 12 rows split
        // themselves as 6 and 6, so the reshape would need data from the other device.
        Shape from = Shape.of(3, 4, 5);
        Shape to = Shape.of(12, 5);
        Placement placement = Placement.onNode(0, 2);
        assertFalse(liftedWithRowSplit(from, to, placement));
        assertFalse(liftedWithRowSplit(to, from, placement));
        NdSbp rows = NdSbp.of(split(0));
        assertNotEquals(Sharding.localShape(from, placement, rows, 0).size(),
                Sharding.localShape(to, placement, rows, 0).size());
    }

    @Test
    void shouldKeepTheRowSplitOfAnUnevenBatchWhenEveryDeviceGetsWholeBatches() {
        // 3 batches on 3 devices: one batch of 4 rows each, and 12 rows split as 4, 4, 4.
        Shape from = Shape.of(3, 4, 5);
        Shape to = Shape.of(12, 5);
        Placement placement = Placement.onNode(0, 3);
        assertTrue(liftedWithRowSplit(from, to, placement));
        assertLocalReshapeAssembles(from, to, placement);
    }

    @Test
    void shouldKeepBroadcastAndPartialSumOnEveryPlacement() {
        List<NdSbpSignature> lifted = SignatureLifting.lift(new Reshape(Shape.of(12, 5)),
                List.of(TensorType.of(DType.F32, 3, 4, 5)), Placement.onNode(0, 2));
        assertEquals(2, lifted.size());
        assertTrue(lifted.stream().noneMatch(s -> s.inputs().get(0).get(0).equals(split(0))));
    }

    /** Whether every device's region before and after is the same run of row-major elements. */
    private static boolean sameElementsOnEveryDevice(Shape from, Shape to, Placement placement, NdSbp rows) {
        for (int rank = 0; rank < placement.size(); rank++) {
            Region before = Sharding.region(from, placement, rows, rank);
            Region after = Sharding.region(to, placement, rows, rank);
            long beforeRow = from.size() / from.dim(0);
            long afterRow = to.size() / to.dim(0);
            if (before.offset(0) * beforeRow != after.offset(0) * afterRow || before.elements() != after.elements()) {
                return false;
            }
        }
        return true;
    }

    @Test
    void shouldKeepExactlyTheNestedRowSplitsWhoseDevicesHoldTheSameElements() {
        List<Shape[]> reshapes = List.of(new Shape[] {Shape.of(4, 3, 5), Shape.of(12, 5)},
                new Shape[] {Shape.of(6, 5, 2), Shape.of(30, 2)}, new Shape[] {Shape.of(3, 4, 5), Shape.of(12, 5)},
                new Shape[] {Shape.of(12, 5), Shape.of(4, 15)}, new Shape[] {Shape.of(7, 6), Shape.of(7, 3, 2)});
        List<NdSbp> rowSplits = List.of(NdSbp.of(split(0), split(0)), NdSbp.of(split(0), broadcast()),
                NdSbp.of(broadcast(), split(0)));
        int kept = 0;
        int dropped = 0;
        for (Placement placement : List.of(Placement.onNode(0, 2, 2), Placement.onNode(0, 3, 2), Placement.onNode(0, 2, 3))) {
            for (Shape[] reshape : reshapes) {
                List<NdSbpSignature> lifted = SignatureLifting.lift(new Reshape(reshape[1]),
                        List.of(new TensorType(reshape[0], DType.F64)), placement);
                for (NdSbp rows : rowSplits) {
                    boolean expected = sameElementsOnEveryDevice(reshape[0], reshape[1], placement, rows)
                            && Sharding.region(reshape[0], placement, rows, placement.size() - 1).elements() > 0;
                    String what = reshape[0] + " -> " + reshape[1] + " as " + rows + " on " + placement;
                    assertEquals(expected, lifted.contains(new NdSbpSignature(List.of(rows), List.of(rows))), what);
                    if (expected) {
                        assertLocalReshapeAssembles(reshape[0], reshape[1], placement, rows);
                        kept++;
                    } else {
                        dropped++;
                    }
                }
            }
        }
        assertTrue(kept > 0 && dropped > 0, "both outcomes exercised: kept " + kept + ", dropped " + dropped);
    }
}
