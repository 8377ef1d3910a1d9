package dev.tessera.sbp.boxing;

import static dev.tessera.sbp.Sbp.broadcast;
import static dev.tessera.sbp.Sbp.partialSum;
import static dev.tessera.sbp.Sbp.split;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.graph.DType;
import dev.tessera.graph.TensorType;
import dev.tessera.sbp.NdSbp;
import dev.tessera.sbp.Placement;
import org.junit.jupiter.api.Test;

/** Boxing errors name the tensor, both layouts and what to change. */
class BoxingErrorsTest {
    private static final Placement GRID = Placement.onNode(0, 2, 2);

    private static String message(Runnable r) {
        return assertThrows(IllegalArgumentException.class, r::run).getMessage();
    }

    private static void assertMentions(String message, String... parts) {
        for (String part : parts) {
            assertTrue(message.contains(part), "expected '" + part + "' in: " + message);
        }
    }

    @Test
    void shouldRejectPartialSumOfIntegerTensor() {
        String m = message(() -> Boxing.plan("labels", TensorType.of(DType.I32, 8), GRID,
                NdSbp.of(partialSum(), broadcast()), NdSbp.of(broadcast(), broadcast())));
        assertMentions(m, "'labels'", "(P, B)", "(B, B)", "use B or a split instead of P");
    }

    @Test
    void shouldRejectSplitAxisOutOfRangeForTheTensorRank() {
        String m = message(() -> Boxing.plan("hidden", TensorType.of(DType.F32, 8, 4), GRID,
                NdSbp.of(split(0), broadcast()), NdSbp.of(split(2), broadcast())));
        assertMentions(m, "'hidden'", "(S(0), B)", "(S(2), B)", "rank 2", "split an axis between 0 and 1");
    }

    @Test
    void shouldRejectNdSbpThatDoesNotMatchThePlacementHierarchy() {
        String m = message(() -> Boxing.plan("w", TensorType.of(DType.F32, 8, 4), GRID,
                NdSbp.of(split(0)), NdSbp.of(broadcast(), broadcast())));
        assertMentions(m, "'w'", "(S(0))", "(B, B)", "give one SBP per hierarchy axis");
    }
}
