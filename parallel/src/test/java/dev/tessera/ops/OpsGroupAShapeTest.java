package dev.tessera.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.graph.DType;
import dev.tessera.graph.GraphBuilder;
import dev.tessera.graph.Shape;
import dev.tessera.graph.ShapeException;
import dev.tessera.graph.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Shape inference of mul, scale, activations, slice, pad, concat, reductions, broadcast and dropout. */
class OpsGroupAShapeTest {
    private final GraphBuilder g = new GraphBuilder(DType.F32);

    private static String assertShapeError(Executable build, String... fragments) {
        ShapeException e = assertThrows(ShapeException.class, build);
        for (String fragment : fragments) {
            assertTrue(e.getMessage().contains(fragment), "message '" + e.getMessage() + "' lacks '" + fragment + "'");
        }
        return e.getMessage();
    }

    @Test
    void shouldInferElementwiseShapes() {
        Tensor x = g.input("x", DType.F32, 2, 3);
        Tensor y = g.input("y", DType.F32, 2, 3);
        assertEquals(Shape.of(2, 3), g.mul(x, y).shape());
        assertEquals(Shape.of(2, 3), g.scale(x, 0.5).shape());
        assertEquals(Shape.of(2, 3), g.relu(x).shape());
        assertEquals(Shape.of(2, 3), g.gelu(x).shape());
        assertEquals(Shape.of(2, 3), g.tanh(x).shape());
        assertEquals(Shape.of(2, 3), g.dropout(x, 0.1, 5).shape());
        assertEquals(DType.F32, g.gelu(x).dtype());
    }

    @Test
    void shouldRejectMulOfDifferentShapesNamingOpAndShapes() {
        Tensor a = g.input("a", DType.F32, 2, 3);
        Tensor b = g.input("b", DType.F32, 3, 2);
        assertShapeError(() -> g.mul(a, b), "(mul)", "a [2, 3] F32", "b [3, 2] F32", "same shape");
    }

    @Test
    void shouldRejectMulOfDifferentDtypes() {
        Tensor a = g.input("a", DType.F32, 4);
        Tensor b = g.input("b", DType.F64, 4);
        assertShapeError(() -> g.mul(a, b), "(mul)", "a [4] F32", "b [4] F64");
    }

    @Test
    void shouldRejectActivationOfIntegerTensor() {
        Tensor ids = g.input("ids", DType.I32, 8);
        assertShapeError(() -> g.gelu(ids), "(gelu)", "ids [8] I32", "must be F32 or F64");
        assertShapeError(() -> g.relu(ids), "(relu)", "ids [8] I32");
        assertShapeError(() -> g.tanh(ids), "(tanh)", "ids [8] I32");
    }

    @Test
    void shouldInferSliceShapeWithNegativeAxis() {
        Tensor x = g.input("x", DType.F32, 2, 5, 4);
        assertEquals(Shape.of(2, 3, 4), g.slice(x, 1, 1, 4).shape());
        assertEquals(Shape.of(2, 5, 1), g.slice(x, -1, 3, 4).shape());
    }

    @Test
    void shouldRejectSliceOutOfRange() {
        Tensor x = g.input("x", DType.F32, 2, 5);
        assertShapeError(() -> g.slice(x, 1, 3, 6), "(slice)", "x [2, 5] F32", "[3, 6)", "out of range", "end <= 5");
        assertShapeError(() -> g.slice(x, 1, 3, 3), "(slice)", "start < end");
        assertShapeError(() -> g.slice(x, 2, 0, 1), "(slice)", "axis 2 is out of range for shape [2, 5]");
    }

    @Test
    void shouldInferConcatShape() {
        Tensor a = g.input("a", DType.F32, 2, 1, 4);
        Tensor b = g.input("b", DType.F32, 2, 3, 4);
        assertEquals(Shape.of(2, 4, 4), g.concat(1, a, b).shape());
        assertEquals(Shape.of(2, 4, 4), g.concat(-2, a, b).shape());
        assertEquals(Shape.of(2, 1, 4), g.slice(g.concat(0, a), 0, 0, 2).shape());
    }

    @Test
    void shouldRejectConcatOfMismatchedOtherAxis() {
        Tensor a = g.input("a", DType.F32, 2, 3);
        Tensor b = g.input("b", DType.F32, 4, 5);
        assertShapeError(() -> g.concat(1, a, b), "(concat)", "a [2, 3] F32", "b [4, 5] F32",
                "input 1 has shape [4, 5]", "except the concat axis 1");
    }

    @Test
    void shouldRejectConcatOfMixedDtypesAndOfNothing() {
        Tensor a = g.input("a", DType.F32, 2, 3);
        Tensor b = g.input("b", DType.F64, 2, 3);
        assertShapeError(() -> g.concat(0, a, b), "(concat)", "input 1 has dtype F64");
        assertShapeError(() -> g.concat(0), "(concat)", "at least one input");
    }

    @Test
    void shouldRemoveReducedAxis() {
        Tensor x = g.input("x", DType.F32, 2, 3, 4);
        assertEquals(Shape.of(3, 4), g.sum(x, 0).shape());
        assertEquals(Shape.of(2, 4), g.mean(x, 1).shape());
        assertEquals(Shape.of(2, 3), g.sum(x, -1).shape());
        Tensor v = g.input("v", DType.F32, 7);
        assertEquals(Shape.scalar(), g.mean(v, 0).shape());
    }

    @Test
    void shouldRejectReductionOverMissingAxisOrOfScalar() {
        Tensor x = g.input("x", DType.F32, 2, 3);
        assertShapeError(() -> g.sum(x, 2), "(sum)", "x [2, 3] F32", "axis 2 is out of range");
        assertShapeError(() -> g.mean(x, -3), "(mean)", "axis -3 is out of range");
        Tensor s = g.mean(g.sum(x, 0), 0);
        assertShapeError(() -> g.sum(s, 0), "(sum)", "cannot reduce a scalar");
    }

    @Test
    void shouldInsertBroadcastAxis() {
        Tensor x = g.input("x", DType.F32, 2, 4);
        assertEquals(Shape.of(2, 3, 4), g.apply(new BroadcastAxis(1, 3), x).shape());
        assertEquals(Shape.of(2, 4, 3), g.apply(new BroadcastAxis(-1, 3), x).shape());
        assertShapeError(() -> g.apply(new BroadcastAxis(3, 2), x), "(broadcast_axis)", "out of range for an output of rank 3");
    }

    @Test
    void shouldPadOneAxis() {
        Tensor x = g.input("x", DType.F32, 2, 4);
        assertEquals(Shape.of(2, 7), g.apply(new Pad(1, 1, 2), x).shape());
        assertShapeError(() -> g.apply(new Pad(0, -1, 0), x), "(pad)", "must not be negative");
    }

    @Test
    void shouldRejectDropoutProbabilityOutsideZeroToOne() {
        Tensor x = g.input("x", DType.F32, 4);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> g.dropout(x, 1.0, 1));
        assertTrue(e.getMessage().contains("[0, 1)"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> g.dropout(x, -0.1, 1));
    }

    @Test
    void shouldMakeDropoutTheIdentityInInferenceGraphs() {
        GraphBuilder inference = GraphBuilder.forInference(DType.F32);
        Tensor x = inference.input("x", DType.F32, 4);
        assertSame(x, inference.dropout(x, 0.5, 1));
        assertTrue(inference.build().ops().isEmpty());
    }

    @Test
    void shouldRejectNonFiniteScale() {
        Tensor x = g.input("x", DType.F32, 4);
        assertThrows(IllegalArgumentException.class, () -> g.scale(x, Double.NaN));
    }
}
