package dev.tessera.worker.exec;

import dev.tessera.graph.Op;
import dev.tessera.graph.Tensor;
import dev.tessera.ops.Reshape;
import dev.tessera.worker.kernel.Kernel;
import dev.tessera.worker.kernel.KernelContext;
import dev.tessera.worker.kernel.KernelRegistry;
import dev.tessera.graph.TensorType;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
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
     * Binds {@code ops} for a pass whose intermediate tensors need not outlive it (evaluation):
     * a tensor without a buffer in {@code fixed} gets one from a pool keyed by its type, taken by
     * its producer and given back once its last reader (in {@code ops}' order) has run, unless it
     * is one of {@code results}. An op's outputs are taken before its inputs are given back, so no
     * kernel writes a buffer it reads. A reshape bound as a view keeps its source's buffer in use
     * as long as the view is read. So the pass holds about the largest set of tensors alive at once
     * instead of every tensor it computes. Every kernel writes each element of its outputs, so a
     * reused buffer needs no clearing.
     *
     * @param fixed the buffers of parameters and inputs, kept as they are; on return it also holds
     *     the buffer of every tensor of {@code results}
     */
    static Program compileReusing(List<Op> ops, Map<Tensor, INDArray> fixed, Set<Tensor> results,
                                  KernelRegistry kernels) {
        Map<Tensor, Integer> lastRead = new HashMap<>();
        for (int i = 0; i < ops.size(); i++) {
            for (Tensor t : ops.get(i).inputs()) {
                lastRead.put(t, i);
            }
        }
        Map<Tensor, INDArray> bound = new HashMap<>(fixed);
        Map<Tensor, Tensor> root = new HashMap<>(); // a pooled tensor, or a view of one, to its buffer's owner
        Map<Tensor, Integer> releaseAt = new HashMap<>(); // per owner, the op after which its buffer is free
        Map<TensorType, ArrayDeque<INDArray>> free = new HashMap<>();
        List<Step> steps = new ArrayList<>(ops.size());
        for (int i = 0; i < ops.size(); i++) {
            Op op = ops.get(i);
            for (Tensor t : op.inputs()) {
                if (!bound.containsKey(t)) {
                    throw new IllegalArgumentException("op '" + op.name() + "' reads '" + t.name()
                            + "', which no earlier op writes and no buffer was given for");
                }
            }
            if (bindAsView(op, bound)) {
                Tensor owner = root.get(op.input(0));
                if (owner != null) {
                    root.put(op.output(0), owner);
                    releaseAt.merge(owner, lifetime(op.output(0), i, lastRead, results), Math::max);
                }
            } else {
                INDArray[] in = op.inputs().stream().map(bound::get).toArray(INDArray[]::new);
                INDArray[] out = new INDArray[op.outputs().size()];
                for (int o = 0; o < out.length; o++) {
                    Tensor t = op.output(o);
                    ArrayDeque<INDArray> pool = free.get(t.type());
                    out[o] = pool == null || pool.isEmpty() ? HostTensors.allocate(t.type()) : pool.pop();
                    bound.put(t, out[o]);
                    root.put(t, t);
                    releaseAt.put(t, lifetime(t, i, lastRead, results));
                }
                steps.add(new Step(op, kernels.create(op), in, out));
            }
            for (List<Tensor> touched : List.of(op.inputs(), op.outputs())) {
                for (Tensor t : touched) {
                    Tensor owner = root.get(t);
                    if (owner != null && releaseAt.get(owner) != null && releaseAt.get(owner) == i) {
                        releaseAt.remove(owner);
                        free.computeIfAbsent(owner.type(), k -> new ArrayDeque<>()).push(bound.get(owner));
                    }
                }
            }
        }
        for (Tensor r : results) {
            fixed.put(r, bound.get(r));
        }
        return new Program(steps);
    }

    /** The op after which {@code t}, written by op {@code producer}, is read no more. */
    private static int lifetime(Tensor t, int producer, Map<Tensor, Integer> lastRead, Set<Tensor> results) {
        return results.contains(t) ? Integer.MAX_VALUE : Math.max(producer, lastRead.getOrDefault(t, producer));
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
