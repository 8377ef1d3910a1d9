package dev.tessera.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class GraphBuilderTest {
    @Test
    void shouldNameOpAndInputShapesWhenMatMulDimensionsDiffer() {
        GraphBuilder g = new GraphBuilder(DType.F32);
        Tensor a = g.input("a", DType.F32, 4, 3);
        Tensor b = g.input("b", DType.F32, 5, 2);
        ShapeException e = assertThrows(ShapeException.class, () -> g.matmul(a, b));
        assertTrue(e.getMessage().contains("'matmul'"), e.getMessage());
        assertTrue(e.getMessage().contains("a [4, 3] F32"), e.getMessage());
        assertTrue(e.getMessage().contains("b [5, 2] F32"), e.getMessage());
        assertTrue(e.getMessage().contains("inner dimensions differ: 3 vs 5"), e.getMessage());
    }

    @Test
    void shouldScopeParameterNames() {
        GraphBuilder g = new GraphBuilder(DType.F32);
        Tensor x = g.input("x", DType.F32, 2, 3);
        try (GraphBuilder.Scope s = g.scope("block0")) {
            g.linear("mlp", x, 4);
        }
        LogicalGraph graph = g.build();
        assertEquals("block0.mlp.weight", graph.parameters().get(0).name());
        assertEquals("block0.mlp.bias", graph.parameters().get(1).name());
        assertEquals(3 * 4 + 4, graph.parameterCount());
    }

    @Test
    void shouldRejectDuplicateInputNames() {
        GraphBuilder g = new GraphBuilder(DType.F32);
        g.input("x", DType.F32, 2);
        assertThrows(IllegalArgumentException.class, () -> g.input("x", DType.F32, 2));
    }

    @Test
    void shouldRejectReshapeThatChangesElementCount() {
        GraphBuilder g = new GraphBuilder(DType.F32);
        Tensor x = g.input("x", DType.F32, 2, 3);
        ShapeException e = assertThrows(ShapeException.class, () -> g.reshape(x, 5));
        assertTrue(e.getMessage().contains("element counts differ"), e.getMessage());
    }
}
