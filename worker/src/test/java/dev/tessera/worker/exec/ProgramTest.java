package dev.tessera.worker.exec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tessera.graph.DType;
import dev.tessera.graph.GraphBuilder;
import dev.tessera.graph.LogicalGraph;
import dev.tessera.graph.Tensor;
import dev.tessera.worker.kernel.KernelContext;
import dev.tessera.worker.kernel.KernelRegistry;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class ProgramTest {
    @Test
    void shouldBindReshapeOutputsAsViewsOfTheirInputs() {
        GraphBuilder g = new GraphBuilder(DType.F32);
        Tensor x = g.input("x", DType.F32, 2, 3);
        Tensor flat = g.reshape(x, 6);
        Tensor back = g.reshape(g.transpose(g.reshape(flat, 3, 2), 1, 0), 6);
        LogicalGraph graph = g.build();
        Map<Tensor, INDArray> buffers = new HashMap<>();
        Program program = Program.compile(graph.ops(), buffers, KernelRegistry.standard());

        assertEquals(buffers.get(x).data().address(), buffers.get(flat).data().address());
        buffers.get(x).assign(Nd4j.createFromArray(new float[][] {{1, 2, 3}, {4, 5, 6}}));
        program.run(new KernelContext(0, 0));

        assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, buffers.get(flat).toFloatVector());
        assertArrayEquals(new float[] {1, 3, 5, 2, 4, 6}, buffers.get(back).toFloatVector());
    }
}
