package dev.tessera.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.graph.DType;
import dev.tessera.graph.Shape;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ToleranceTest {
    private final Tolerance tolerance = new Tolerance(1e-3, 1e-6);

    @Test
    void shouldBoundTheDifferenceByTheAbsoluteFloorPlusTheRelativePartOfTheExpectedValue() {
        assertTrue(tolerance.accepts(100, 100.1));
        assertFalse(tolerance.accepts(100, 100.11));
        assertTrue(tolerance.accepts(0, 1e-6));
        assertFalse(tolerance.accepts(0, 2e-6));
        // relative to the expected value only: 0.1 is not within 1e-3 of 1e-6
        assertFalse(tolerance.accepts(1e-6, 0.1));
    }

    @Test
    void shouldMatchNonFiniteValuesOnlyWithThemselves() {
        assertTrue(tolerance.accepts(Double.NaN, Double.NaN));
        assertTrue(tolerance.accepts(Double.POSITIVE_INFINITY, Double.POSITIVE_INFINITY));
        assertFalse(tolerance.accepts(1.0, Double.NaN));
        assertFalse(tolerance.accepts(Double.NaN, 1.0));
        assertFalse(tolerance.accepts(Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY));
    }

    @Test
    void shouldReportMissingAndExtraTensorsShapesAndTheWorstElement() {
        HostTensor a = HostTensor.ofDoubles(Shape.of(4), new double[] {1, 2, 3, 4});
        HostTensor b = HostTensor.ofDoubles(Shape.of(4), new double[] {1, 2.5, 3, 5});
        HostTensor longer = HostTensor.ofDoubles(Shape.of(5), new double[] {1, 2, 3, 4, 5});
        List<String> found = tolerance.mismatches(Map.of("w", a, "gone", a, "shape", a),
                Map.of("w", b, "new", a, "shape", longer));
        assertTrue(found.contains("missing [gone]"), found.toString());
        assertTrue(found.contains("not expected [new]"), found.toString());
        assertTrue(found.stream().anyMatch(s -> s.startsWith("shape: shape [5]")), found.toString());
        assertEquals(2, found.stream().filter(s -> s.startsWith("w[")).count(), found.toString());
        AssertionError e = assertThrows(AssertionError.class, () -> tolerance.requireClose("parameters",
                Map.of("w", a), Map.of("w", b)));
        assertTrue(e.getMessage().contains("w[3]: 5.0, expected 4.0"), e.getMessage());
    }

    @Test
    void shouldSummariseManyFailingElementsWithTheWorst() {
        double[] expected = new double[10];
        double[] actual = new double[10];
        for (int i = 0; i < 10; i++) {
            expected[i] = 1;
            actual[i] = i == 7 ? 9 : 1.5;
        }
        List<String> found = tolerance.mismatches("g", HostTensor.ofDoubles(Shape.of(10), expected),
                HostTensor.ofDoubles(Shape.of(10), actual));
        assertEquals(4, found.size(), found.toString());
        assertTrue(found.get(3).startsWith("g: 10 of 10 elements outside") && found.get(3).contains("g[7]: 9.0"),
                found.get(3));
    }

    @Test
    void shouldStateThePerDtypeTolerances() {
        assertEquals(new Tolerance(1e-9, 1e-12), Tolerance.of(DType.F64));
        assertEquals(new Tolerance(1e-5, 1e-6), Tolerance.of(DType.F32));
        assertEquals(Tolerance.EXACT, Tolerance.of(DType.I32));
    }
}
