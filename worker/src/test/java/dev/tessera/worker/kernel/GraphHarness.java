package dev.tessera.worker.kernel;

import dev.tessera.graph.DType;
import dev.tessera.graph.GraphBuilder;
import dev.tessera.graph.Op;
import dev.tessera.graph.OpDef;
import dev.tessera.graph.Tensor;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A tiny test-only interpreter for kernel tests: builds a graph with {@link GraphBuilder} and
 * runs every op with the standard kernels in creation order, on INDArrays the test chooses
 * (mixing dtypes, e.g. I32 labels beside F32 logits), into fresh NaN-filled C-order outputs.
 */
final class GraphHarness {
    final GraphBuilder builder;
    private final KernelRegistry registry = KernelRegistry.standard();
    private final Map<Tensor, INDArray> values = new HashMap<>();
    private final Map<Integer, Kernel> kernels = new HashMap<>();

    GraphHarness(DType floatType) {
        builder = new GraphBuilder(floatType);
    }

    /** A graph input holding {@code value} (its dtype and shape). */
    Tensor input(String name, INDArray value) {
        Tensor t = builder.input(name, dtypeOf(value), toInts(value.shape()));
        values.put(t, value);
        return t;
    }

    /** Sets the value of an input or parameter. */
    void set(Tensor t, INDArray value) {
        values.put(t, value);
    }

    INDArray value(Tensor t) {
        return values.get(t);
    }

    /** Runs ops {@code 0 .. end-1} of the graph, in order, into fresh output buffers. */
    void run(int end) {
        List<Op> ops = builder.build().store().ops();
        for (Op op : ops.subList(0, end)) {
            Kernel k = kernels.computeIfAbsent(op.id(), id -> registry.create(op));
            INDArray[] in = op.inputs().stream().map(t -> {
                INDArray v = values.get(t);
                if (v == null) {
                    throw new IllegalStateException("no value for " + t + " before op " + op);
                }
                return v;
            }).toArray(INDArray[]::new);
            INDArray[] out = new INDArray[op.outputs().size()];
            for (int i = 0; i < out.length; i++) {
                Tensor t = op.output(i);
                // NaN-filled, so an element the kernel forgets to write shows up.
                out[i] = Nd4j.createUninitialized(OneOpHarness.nd4j(t.dtype()), t.shape().toLongArray(), 'c')
                        .assign(Double.NaN);
                values.put(t, out[i]);
            }
            k.run(in, out, new KernelContext(0, 0));
        }
    }

    /** Runs every op of the graph. */
    void runAll() {
        run(opCount());
    }

    int opCount() {
        return builder.build().store().ops().size();
    }

    /** Applies {@code def} to the given inputs and returns every output. */
    List<Tensor> apply(OpDef def, Tensor... inputs) {
        return builder.applyAll(def, inputs);
    }

    static DType dtypeOf(INDArray a) {
        return switch (a.dataType()) {
            case FLOAT -> DType.F32;
            case DOUBLE -> DType.F64;
            case INT -> DType.I32;
            default -> throw new IllegalArgumentException("unsupported test dtype " + a.dataType());
        };
    }

    static int[] toInts(long[] dims) {
        int[] out = new int[dims.length];
        for (int i = 0; i < dims.length; i++) {
            out[i] = (int) dims[i];
        }
        return out;
    }
}
