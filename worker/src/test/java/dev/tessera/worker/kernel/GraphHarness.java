package dev.tessera.worker.kernel;

import dev.tessera.graph.DType;
import dev.tessera.graph.GradientBuilder;
import dev.tessera.graph.GraphBuilder;
import dev.tessera.graph.Op;
import dev.tessera.graph.OpDef;
import dev.tessera.graph.Tensor;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A tiny test-only interpreter: builds a graph with {@link GraphBuilder}, runs every op with the
 * standard kernels in creation order, and can append the ops of the gradient rules (without the
 * B/W split, which autodiff owns) so kernels and rules are tested together.
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
                out[i] = Nd4j.create(Dense.dataType(t.dtype()), t.shape().toLongArray(), 'c');
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

    /**
     * Appends the backward ops of every op that a gradient reaches, starting from
     * {@code seeds} (output tensor -> its gradient tensor). Gradients of a tensor used twice are
     * summed with add ops. Returns the gradient tensor of each tensor that received one.
     */
    Map<Tensor, Tensor> backward(Map<Tensor, Tensor> seeds) {
        Map<Tensor, Tensor> grads = new HashMap<>(seeds);
        List<Op> forward = new ArrayList<>(builder.build().store().ops());
        for (int i = forward.size() - 1; i >= 0; i--) {
            Op op = forward.get(i);
            if (op.outputs().stream().noneMatch(grads::containsKey)) {
                continue;
            }
            op.def().gradient(new Rule(op, grads));
        }
        return grads;
    }

    private final class Rule implements GradientBuilder {
        private final Op op;
        private final Map<Tensor, Tensor> grads;

        Rule(Op op, Map<Tensor, Tensor> grads) {
            this.op = op;
            this.grads = grads;
        }

        @Override
        public Op op() {
            return op;
        }

        @Override
        public Tensor input(int index) {
            return op.input(index);
        }

        @Override
        public Tensor output(int index) {
            return op.output(index);
        }

        @Override
        public Tensor outputGrad(int index) {
            return grads.get(op.output(index));
        }

        @Override
        public boolean requiresGrad(int index) {
            return op.def().differentiable(index) && op.input(index).dtype().isFloating();
        }

        @Override
        public Tensor emit(OpDef def, Tensor... inputs) {
            return builder.apply(def, inputs);
        }

        @Override
        public List<Tensor> emitAll(OpDef def, Tensor... inputs) {
            return builder.applyAll(def, inputs);
        }

        @Override
        public void inputGrad(int index, Tensor grad) {
            grads.merge(op.input(index), grad, builder::add);
        }
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
