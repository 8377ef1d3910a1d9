package dev.tessera.worker.exec;

import dev.tessera.graph.Op;
import dev.tessera.graph.Tensor;
import dev.tessera.worker.kernel.Kernel;
import dev.tessera.worker.kernel.KernelContext;
import dev.tessera.worker.kernel.KernelRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;

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
            INDArray[] in = op.inputs().stream().map(t -> buffer(buffers, t)).toArray(INDArray[]::new);
            INDArray[] out = op.outputs().stream().map(t -> buffer(buffers, t)).toArray(INDArray[]::new);
            steps.add(new Step(op, kernels.create(op), in, out));
        }
        return new Program(steps);
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

    /** Runs op by op and returns the first op with a NaN or infinite output, or null. */
    Op runUntilNonFinite(KernelContext context) {
        for (Step s : steps) {
            s.kernel.run(s.inputs, s.outputs, context);
            for (INDArray out : s.outputs) {
                if (out.dataType().isFPType() && !Double.isFinite(out.sumNumber().doubleValue())) {
                    return s.op;
                }
            }
        }
        return null;
    }
}
