package dev.tessera.sbp;

import static dev.tessera.sbp.Sbp.broadcast;
import static dev.tessera.sbp.Sbp.partialSum;
import static dev.tessera.sbp.Sbp.split;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.graph.DType;
import dev.tessera.graph.Shape;
import dev.tessera.graph.TensorType;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ShardingTest {
    private static final Shape TEN_BY_SIX = Shape.of(10, 6);

    private static List<Integer> rows(Placement p, NdSbp sbp) {
        List<Integer> rows = new ArrayList<>();
        for (int r = 0; r < p.size(); r++) {
            rows.add(Sharding.localShape(TEN_BY_SIX, p, sbp, r).dim(0));
        }
        return rows;
    }

    @Test
    void shouldGiveTheFirstPartsOneExtraElementWhenSplitUnevenly() {
        assertEquals(List.of(3, 3, 2, 2), rows(Placement.onNode(0, 4), NdSbp.of(split(0))));
    }

    @Test
    void shouldNestSplitsOfTheSameAxisInHierarchyOrder() {
        Placement p = Placement.onNode(0, 2, 2);
        assertEquals(List.of(3, 2, 3, 2), rows(p, NdSbp.of(split(0), split(0))));
        assertEquals("[5:8, 0:6]", Sharding.region(TEN_BY_SIX, p, NdSbp.of(split(0), split(0)), 2).toString());
    }

    @Test
    void shouldKeepTheWholeTensorOnBroadcastAndPartialSumAxes() {
        Placement p = Placement.onNode(0, 2, 4);
        NdSbp sbp = NdSbp.of(partialSum(), split(1));
        assertEquals(Shape.of(10, 2), Sharding.localShape(TEN_BY_SIX, p, sbp, 0));
        assertEquals(Shape.of(10, 1), Sharding.localShape(TEN_BY_SIX, p, sbp, 7));
        assertEquals(Shape.of(5, 6), Sharding.localShape(TEN_BY_SIX, p, NdSbp.of(split(0), broadcast()), 5));
    }

    @Test
    void shouldRejectNdSbpWithAnotherNumberOfAxesThanTheHierarchy() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () ->
                NdSbp.of(split(0)).requireFits("x", new TensorType(TEN_BY_SIX, DType.F32), Placement.onNode(0, 2, 2)));
        assertTrue(e.getMessage().contains("give one SBP per hierarchy axis"), e.getMessage());
    }
}
