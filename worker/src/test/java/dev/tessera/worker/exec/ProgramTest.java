package dev.tessera.worker.exec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.graph.DType;
import dev.tessera.graph.GraphBuilder;
import dev.tessera.graph.LogicalGraph;
import dev.tessera.graph.Tensor;
import dev.tessera.worker.kernel.KernelContext;
import dev.tessera.worker.kernel.KernelRegistry;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.buffer.DataType;
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

    /**
     * A deep chain of layers with a residual path and a reshape view, bound once with a buffer per
     * tensor and once sharing buffers by liveness: the same logits bit for bit, far fewer buffers.
     */
    @Test
    void shouldShareBuffersByLivenessWithoutChangingTheResult() {
        GraphBuilder g = new GraphBuilder(DType.F32);
        Tensor x = g.input("x", DType.F32, 4, 6);
        Tensor h = x;
        for (int layer = 0; layer < 6; layer++) {
            Tensor inner = g.relu(g.linear("l" + layer, h, 6));
            Tensor flat = g.reshape(inner, 24);
            h = g.add(h, g.reshape(g.scale(flat, 0.5), 4, 6)); // the residual keeps h alive across the layer
        }
        Tensor logits = g.linear("head", h, 3);
        LogicalGraph graph = g.build();

        Map<Tensor, INDArray> plain = new HashMap<>();
        Map<Tensor, INDArray> reusing = new HashMap<>();
        for (Tensor p : graph.parameters()) {
            INDArray value = Nd4j.rand(DataType.FLOAT, p.shape().toLongArray()).subi(0.5);
            plain.put(p, value);
            reusing.put(p, value);
        }
        INDArray input = Nd4j.rand(DataType.FLOAT, 4, 6);
        plain.put(x, input.dup());
        reusing.put(x, input.dup());
        Program.compile(graph.ops(), plain, KernelRegistry.standard()).run(new KernelContext(0, 0));
        Program.compileReusing(graph.ops(), reusing, Set.of(logits), KernelRegistry.standard())
                .run(new KernelContext(0, 0));

        assertArrayEquals(plain.get(logits).ravel().toFloatVector(), reusing.get(logits).ravel().toFloatVector());
        Set<Long> plainBuffers = new java.util.HashSet<>();
        for (INDArray b : plain.values()) {
            plainBuffers.add(b.data().address());
        }
        assertTrue(plainBuffers.size() > graph.parameters().size() + 30, "a buffer per tensor: " + plainBuffers.size());
        assertEquals(graph.parameters().size() + 2, reusing.size(), "given buffers and the one result come back");
    }

    /** The pool never hands an op's output the buffer of an input it still reads. */
    @Test
    void shouldNotLetAnOpWriteABufferItReads() {
        GraphBuilder g = new GraphBuilder(DType.F32);
        Tensor x = g.input("x", DType.F32, 3, 3);
        Tensor a = g.relu(x);
        Tensor b = g.add(a, a);     // a's last reader: b must not get a's buffer
        Tensor c = g.mul(b, b);     // b's last reader
        Tensor d = g.add(c, g.scale(c, 2)); // c read twice by one op after a scale
        LogicalGraph graph = g.build();
        Map<Tensor, INDArray> buffers = new HashMap<>();
        buffers.put(x, Nd4j.createFromArray(new float[][] {{1, -2, 3}, {-4, 5, -6}, {7, -8, 9}}));

        Program.compileReusing(graph.ops(), buffers, Set.of(d), KernelRegistry.standard()).run(new KernelContext(0, 0));

        float[] expected = new float[9];
        float[] in = {1, -2, 3, -4, 5, -6, 7, -8, 9};
        for (int i = 0; i < 9; i++) {
            float relu = Math.max(in[i], 0);
            float sq = (relu + relu) * (relu + relu);
            expected[i] = sq + sq * 2;
        }
        assertArrayEquals(expected, buffers.get(d).ravel().toFloatVector());
    }
}
