package dev.tessera.sbp.boxing;

import static dev.tessera.sbp.Sbp.broadcast;
import static dev.tessera.sbp.Sbp.partialSum;
import static dev.tessera.sbp.Sbp.split;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.graph.DType;
import dev.tessera.graph.TensorType;
import dev.tessera.sbp.DeviceId;
import dev.tessera.sbp.NdSbp;
import dev.tessera.sbp.Placement;
import dev.tessera.sbp.Sbp;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The conversions and byte counts the table gives for hand-checked cases. */
class BoxingTableTest {
    private static final TensorType T = TensorType.of(DType.F32, 8, 6); // 192 bytes
    private static final Placement FOUR = Placement.onNode(0, 4);
    private static final Placement GRID = Placement.onNode(0, 2, 4);

    private static BoxingPlan oneAxis(Sbp from, Sbp to) {
        return Boxing.plan("t", T, FOUR, NdSbp.of(from), NdSbp.of(to));
    }

    private static List<Conversion> conversions(BoxingPlan plan) {
        return plan.steps().stream().map(BoxingStep::conversion).toList();
    }

    @Test
    void shouldAllReducePartialSumIntoBroadcastWithRingVolume() {
        BoxingPlan plan = oneAxis(partialSum(), broadcast());
        assertEquals(List.of(Conversion.ALL_REDUCE), conversions(plan));
        assertEquals(2.0 * 3 / 4 * 192, plan.bytesByDevice().get(DeviceId.of(0, 2)), 1e-9);
        assertEquals(4 * 2.0 * 3 / 4 * 192, plan.totalBytes(), 1e-9);
    }

    @Test
    void shouldGiveEachOneAxisPairItsConversionAndVolume() {
        assertEquals(List.of(Conversion.REDUCE_SCATTER), conversions(oneAxis(partialSum(), split(1))));
        assertEquals(4 * 0.75 * 192, oneAxis(partialSum(), split(1)).totalBytes(), 1e-9);
        assertEquals(List.of(Conversion.ALL_GATHER), conversions(oneAxis(split(0), broadcast())));
        assertEquals(4 * 0.75 * 192, oneAxis(split(0), broadcast()).totalBytes(), 1e-9);
        assertEquals(List.of(Conversion.ALL_TO_ALL), conversions(oneAxis(split(0), split(1))));
        // pairwise: each device holds 2 rows x 6 columns and keeps its own 2 x (2, 2, 1, 1) columns
        assertEquals((8 + 8 + 10 + 10) * 4, oneAxis(split(0), split(1)).totalBytes(), 1e-9);
        assertEquals(List.of(Conversion.LOCAL_SLICE), conversions(oneAxis(broadcast(), split(1))));
        assertEquals(List.of(Conversion.ZERO_FILL), conversions(oneAxis(broadcast(), partialSum())));
        assertEquals(List.of(Conversion.ZERO_PAD), conversions(oneAxis(split(0), partialSum())));
        assertEquals(0, oneAxis(broadcast(), partialSum()).totalBytes());
    }

    @Test
    void shouldDoNothingForIdenticalLayouts() {
        assertTrue(oneAxis(split(0), split(0)).isEmpty());
        assertTrue(Boxing.plan("t", T, GRID, NdSbp.of(split(0), partialSum()), NdSbp.of(split(0), partialSum())).isEmpty());
    }

    @Test
    void shouldReduceOnlyOverTheDataParallelAxisGroupsOfTwo() {
        BoxingPlan plan = Boxing.plan("t", T, GRID, NdSbp.of(partialSum(), split(1)), NdSbp.of(broadcast(), split(1)));
        CollectiveStep step = (CollectiveStep) plan.steps().get(0);
        assertEquals(Conversion.ALL_REDUCE, step.conversion());
        assertEquals(4, step.groups().size());
        assertEquals(List.of(DeviceId.of(0, 1), DeviceId.of(0, 5)), step.groups().get(1).devices());
        // each group reduces its 8 x 2 (or 8 x 1) column block: 6 columns over 4 devices are 2, 2, 1, 1
        assertEquals(8 * 2 * 4, step.groups().get(1).tensorBytes());
        assertEquals(8 * 1 * 4, step.groups().get(3).tensorBytes());
        assertEquals(2 * (2 * 0.5 * 64) * 2 + 2 * (2 * 0.5 * 32) * 2, plan.totalBytes(), 1e-9);
    }

    @Test
    void shouldGatherTheInnerAxisFirstWhenBothAxesSplitTheSameTensorAxis() {
        BoxingPlan plan = Boxing.plan("t", T, GRID, NdSbp.of(split(0), split(0)), NdSbp.of(broadcast(), broadcast()));
        assertEquals(List.of(Conversion.ALL_GATHER, Conversion.ALL_GATHER), conversions(plan));
        assertEquals(1, ((CollectiveStep) plan.steps().get(0)).hierarchyAxis());
    }

    @Test
    void shouldPassThroughBroadcastToSwapSplitAxesOfTwoHierarchyAxes() {
        BoxingPlan plan = Boxing.plan("t", T, GRID, NdSbp.of(split(0), split(1)), NdSbp.of(split(1), split(0)));
        assertEquals(3, plan.steps().size(), plan.toString());
    }

    @Test
    void shouldSendBetweenDisjointPlacements() {
        Placement other = Placement.of(Placement.onNode(1, 4).devices(), 4);
        BoxingPlan plan = Boxing.plan("t", T, FOUR, NdSbp.of(split(0)), other, NdSbp.of(split(0)));
        assertEquals(List.of(Conversion.SEND_RECV), conversions(plan));
        assertEquals(192, plan.totalBytes(), 1e-9);
        assertEquals(48, plan.bytesByDevice().get(DeviceId.of(0, 3)), 1e-9);
    }

    @Test
    void shouldReducePartialSumsBeforeSendingAndZeroFillAfter() {
        Placement other = Placement.of(Placement.onNode(1, 2).devices(), 2);
        BoxingPlan plan = Boxing.plan("t", T, FOUR, NdSbp.of(partialSum()), other, NdSbp.of(partialSum()));
        assertEquals(List.of(Conversion.ALL_REDUCE, Conversion.SEND_RECV, Conversion.ZERO_FILL), conversions(plan));
    }

    @Test
    void shouldSendEachConsumerPartFromAnotherReplicaOfABroadcastTensor() {
        Placement other = Placement.of(Placement.onNode(1, 4).devices(), 4);
        BoxingPlan plan = Boxing.plan("t", T, FOUR, NdSbp.of(broadcast()), other, NdSbp.of(split(0)));
        assertEquals(List.of(Conversion.SEND_RECV), conversions(plan));
        assertEquals(192, plan.totalBytes(), 1e-9);
        for (int d = 0; d < 4; d++) {
            assertEquals(48, plan.bytesByDevice().get(DeviceId.of(0, d)), 1e-9);
        }
    }
}
