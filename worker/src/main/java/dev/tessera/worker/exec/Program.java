package dev.tessera.worker.exec;

import dev.tessera.graph.Op;
import dev.tessera.graph.Tensor;
import dev.tessera.ops.Reshape;
import dev.tessera.worker.kernel.Kernel;
import dev.tessera.worker.kernel.KernelContext;
import dev.tessera.worker.kernel.KernelRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.Shape;

/**
 * A list of ops bound to their kernels and buffers, run in order. Binding happens once, so
 * running allocates nothing but what kernels allocate themselves.
 */
final class Program {
    private record Step(Op op, Kernel kernel, INDArray[] inputs, INDArray[] outputs) {
    }

    private final List<Step> steps;

    private Program(List<Step> steps) {
        this.steps = steps;
    }

    /** Binds {@code ops}, allocating a buffer for every tensor that has none yet. */
    static Program compile(List<Op> ops, Map<Tensor, INDArray> buffers, KernelRegistry kernels) {
        List<Step> steps = new ArrayList<>(ops.size());
        for (Op op : ops) {
            if (bindAsView(op, buffers)) {
                continue;
            }
            INDArray[] in = op.inputs().stream().map(t -> buffer(buffers, t)).toArray(INDArray[]::new);
            INDArray[] out = op.outputs().stream().map(t -> buffer(buffers, t)).toArray(INDArray[]::new);
            steps.add(new Step(op, kernels.create(op), in, out));
        }
        return new Program(steps);
    }

    /**
     * Binds the output of a reshape to a view of its input's buffer, so the reshape costs
     * nothing at run time. Safe because every buffer is written only by its producer (or, for
     * parameters and state, by update ops that run after every reader of the iteration).
     */
    private static boolean bindAsView(Op op, Map<Tensor, INDArray> buffers) {
        if (!(op.def() instanceof Reshape) || op.output(0).shape().rank() == 0 || buffers.containsKey(op.output(0))) {
            return false;
        }
        INDArray source = buffer(buffers, op.input(0));
        if (source.ordering() != 'c' || !Shape.hasDefaultStridesForShape(source)) {
            return false;
        }
        INDArray view = source.reshape('c', op.output(0).shape().toLongArray());
        if (view.data().address() != source.data().address()) {
            return false;
        }
        buffers.put(op.output(0), view);
        return true;
    }

    private static INDArray buffer(Map<Tensor, INDArray> buffers, Tensor t) {
        return buffers.computeIfAbsent(t, k -> HostTensors.allocate(k.type()));
    }

    /** Runs every op; a failing kernel is reported with its op and position in training. */
    void run(KernelContext context) {
        for (Step s : steps) {
            try {
                s.kernel.run(s.inputs, s.outputs, context);
            } catch (RuntimeException e) {
                throw new KernelException(s.op.name(), s.op.def().type(), context.iteration(), context.microBatch(), e);
            }
        }
    }

    /** An op and the tensor it wrote (an output or an input updated in place). */
    record Written(Op op, Tensor tensor) {
    }

    /**
     * Runs op by op and returns the first op that wrote a NaN or an infinity, with that tensor,
     * or null. Used only after a failure: it checks every element of everything written.
     */
    Written runUntilNonFinite(KernelContext context) {
        for (Step s : steps) {
            s.kernel.run(s.inputs, s.outputs, context);
            for (int o = 0; o < s.outputs.length; o++) {
                if (HostTensors.hasNonFinite(s.outputs[o])) {
                    return new Written(s.op, s.op.output(o));
                }
            }
            for (int k : s.op.def().mutatedInputs()) {
                if (HostTensors.hasNonFinite(s.inputs[k])) {
                    return new Written(s.op, s.op.input(k));
                }
            }
        }
        return null;
    }
}
