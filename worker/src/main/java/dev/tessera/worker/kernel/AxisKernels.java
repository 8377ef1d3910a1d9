package dev.tessera.worker.kernel;

import static org.nd4j.linalg.indexing.NDArrayIndex.all;
import static org.nd4j.linalg.indexing.NDArrayIndex.interval;

import dev.tessera.graph.Op;
import dev.tessera.graph.Shape;
import dev.tessera.ops.BroadcastAxis;
import dev.tessera.ops.Concat;
import dev.tessera.ops.Pad;
import dev.tessera.ops.ReduceMean;
import dev.tessera.ops.ReduceSum;
import dev.tessera.ops.Slice;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.broadcast.BroadcastCopyOp;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Ops along one axis: slice, pad, concat, reductions and broadcast. Each views its tensors as
 * [outer, axis, inner] (C order, no copy) so one strided assign moves a whole block.
 */
final class AxisKernels {
    private AxisKernels() {
    }

    static void register(KernelRegistry r) {
        r.register(Slice.class, (def, op) -> {
            int axis = op.input(0).shape().normalizeAxis(def.axis());
            return (in, out, ctx) ->
                    around(out[0], axis).assign(around(in[0], axis).get(all(), interval(def.start(), def.end()), all()));
        });
        r.register(Pad.class, (def, op) -> pad(def, op));
        r.register(Concat.class, (def, op) -> {
            int axis = op.output(0).shape().normalizeAxis(def.axis());
            return (in, out, ctx) -> concatenate(in, out[0], axis);
        });
        r.register(ReduceSum.class, (def, op) -> {
            int axis = op.input(0).shape().normalizeAxis(def.axis());
            return (in, out, ctx) -> in[0].sum(out[0], axis);
        });
        r.register(ReduceMean.class, (def, op) -> {
            int axis = op.input(0).shape().normalizeAxis(def.axis());
            return (in, out, ctx) -> in[0].mean(out[0], axis);
        });
        r.register(BroadcastAxis.class, (def, op) -> {
            int axis = def.outputAxis(op.input(0).shape().rank());
            Shape outShape = op.output(0).shape();
            long outer = outer(outShape, axis);
            long inner = inner(outShape, axis);
            return (in, out, ctx) -> {
                INDArray target = around(out[0], axis);
                INDArray source = in[0].reshape('c', outer, inner);
                Nd4j.getExecutioner().exec(new BroadcastCopyOp(target, source, target, 0, 2));
            };
        });
    }

    /** Zeros only the margins and copies x into the middle: each output element is written once. */
    private static Kernel pad(Pad def, Op op) {
        int axis = op.input(0).shape().normalizeAxis(def.axis());
        long size = op.input(0).shape().dim(axis);
        return (in, out, ctx) -> {
            INDArray whole = around(out[0], axis);
            if (def.before() > 0) {
                whole.get(all(), interval(0, def.before()), all()).assign(0);
            }
            whole.get(all(), interval(def.before(), def.before() + size), all()).assign(around(in[0], axis));
            if (def.after() > 0) {
                long end = def.before() + size;
                whole.get(all(), interval(end, end + def.after()), all()).assign(0);
            }
        };
    }

    /** Writes {@code parts} one after another along {@code axis} into {@code whole}. */
    static void concatenate(INDArray[] parts, INDArray whole, int axis) {
        INDArray blocks = around(whole, axis);
        long offset = 0;
        for (INDArray part : parts) {
            long size = part.size(axis);
            blocks.get(all(), interval(offset, offset + size), all()).assign(around(part, axis));
            offset += size;
        }
    }

    /** {@code x} viewed as [outer, size of axis, inner]; x must be C-contiguous (kernel buffers are). */
    static INDArray around(INDArray x, int axis) {
        long[] shape = x.shape();
        long outer = 1;
        for (int i = 0; i < axis; i++) {
            outer *= shape[i];
        }
        long inner = 1;
        for (int i = axis + 1; i < shape.length; i++) {
            inner *= shape[i];
        }
        return x.reshape('c', outer, shape[axis], inner);
    }

    private static long outer(Shape s, int axis) {
        long n = 1;
        for (int i = 0; i < axis; i++) {
            n *= s.dim(i);
        }
        return n;
    }

    private static long inner(Shape s, int axis) {
        long n = 1;
        for (int i = axis + 1; i < s.rank(); i++) {
            n *= s.dim(i);
        }
        return n;
    }
}
