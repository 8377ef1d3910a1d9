package dev.tessera.sbp.infer;

import static dev.tessera.sbp.Sbp.broadcast;
import static dev.tessera.sbp.Sbp.partialSum;
import static dev.tessera.sbp.Sbp.split;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.graph.DType;
import dev.tessera.graph.TensorType;
import dev.tessera.sbp.NdSbp;
import dev.tessera.sbp.Placement;
import dev.tessera.sbp.boxing.Boxing;
import dev.tessera.sbp.boxing.BoxingCost;
import dev.tessera.sbp.boxing.BoxingPlan;
import org.junit.jupiter.api.Test;

class BoxingCacheTest {
    private static final Placement GRID = Placement.onNode(0, 2, 3);
    private static final TensorType TYPE = TensorType.of(DType.F32, 12, 6);
    private static final NdSbp FROM = NdSbp.of(partialSum(), split(0));
    private static final NdSbp TO = NdSbp.of(broadcast(), broadcast());

    @Test
    void shouldAnswerAsTheBoxingTableDoesUnderEachTensorsOwnName() {
        BoxingCache cache = new BoxingCache(GRID);

        BoxingPlan first = cache.plan("a", TYPE, FROM, TO);
        BoxingPlan second = cache.plan("b", TYPE, FROM, TO);

        assertEquals(Boxing.plan("b", TYPE, GRID, FROM, TO), second);
        assertEquals("a", first.tensor());
        assertSame(first.steps(), second.steps(), "the steps (and their peer groups) are built once");
        BoxingCost expected = Boxing.cost("c", TYPE, GRID, FROM, GRID, TO);
        assertEquals(expected, cache.cost("c", TYPE, FROM, TO));
        assertSame(cache.cost("c", TYPE, FROM, TO), cache.cost("d", TYPE, FROM, TO));
    }

    @Test
    void shouldStillRejectALayoutThatDoesNotFitNamingTheTensor() {
        BoxingCache cache = new BoxingCache(GRID);

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> cache.cost("labels", TensorType.of(DType.I32, 12), NdSbp.of(partialSum(), broadcast()), TO));

        assertTrue(e.getMessage().contains("tensor 'labels'"), e.getMessage());
    }
}
