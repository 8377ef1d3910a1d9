package dev.tessera.worker.actors;

import dev.tessera.autodiff.AccumulateGrad;
import dev.tessera.graph.Op;
import dev.tessera.graph.Phase;
import dev.tessera.graph.Tensor;
import dev.tessera.runtime.ActionContext;
import dev.tessera.runtime.ActorAction;
import dev.tessera.worker.exec.ComputeThreads;
import dev.tessera.worker.exec.HostTensors;
import dev.tessera.worker.exec.KernelException;
import dev.tessera.worker.kernel.Kernel;
import dev.tessera.worker.kernel.KernelContext;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Runs one op's kernel, exactly as the reference executor calls it: register payloads for
 * activations and data, the executor's own buffers for parameters and optimizer state, and
 * {@code KernelContext(iteration, microBatch)}. The runtime makes every actor act once per
 * micro-batch; an update op (phase U) works only at the last micro-batch of an iteration, with
 * {@code KernelContext(iteration, 0)} like the reference, and fills its learning-rate and
 * optimizer-step inputs from the run's schedule first. An op other than {@link AccumulateGrad}
 * that writes a gradient accumulator zeroes it at micro-batch 0, as the reference does; an
 * AccumulateGrad overwrites it at micro-batch 0 itself.
 */
final class OpAction implements ActorAction {
    /** Slots of op inputs that are not registers, see the constructor. */
    static final int PERSISTENT = -1;
    static final int LEARNING_RATE = -2;
    static final int OPTIMIZER_STEP = -3;

    private final Op op;
    private final int[] slots;
    private final Kernel kernel;
    private final RunState run;
    private final boolean update;
    private final INDArray[] inputs;
    private final INDArray[] outputs;
    private final INDArray[] bound;
    /** Per input read through a folded reshape: its shape, and its view of each register payload seen. */
    private final long[][] viewShapes;
    private final List<Map<INDArray, INDArray>> viewsByPayload = new ArrayList<>();
    private final INDArray learningRate;
    private final INDArray optimizerStep;
    private final INDArray[] zeroAtIterationStart;
    private final RegisterPool pool;

    /**
     * @param slots per input of {@code op}: the index of the actor input (register) it reads, or
     *     {@link #PERSISTENT} (parameter or optimizer state, bound directly), {@link #LEARNING_RATE}
     *     or {@link #OPTIMIZER_STEP} (filled from the run's schedule)
     * @param reads per input of {@code op}: the tensor whose buffer it reads, the input itself or,
     *     for the output of a reshape folded away, the reshape's root input, viewed in the input's shape
     */
    OpAction(Op op, int[] slots, Tensor[] reads, Kernel kernel, Map<Tensor, INDArray> persistent,
             Set<Tensor> accumulators, RunState run, RegisterPool pool) {
        this.op = op;
        this.slots = slots;
        this.kernel = kernel;
        this.run = run;
        this.pool = pool;
        this.update = op.phase() == Phase.UPDATE;
        inputs = new INDArray[slots.length];
        outputs = new INDArray[op.outputs().size()];
        bound = new INDArray[slots.length];
        viewShapes = new long[slots.length][];
        INDArray rate = null;
        INDArray step = null;
        List<INDArray> zeroed = new ArrayList<>();
        for (int k = 0; k < slots.length; k++) {
            Tensor input = op.input(k);
            boolean viewed = !reads[k].equals(input);
            viewShapes[k] = viewed ? input.shape().toLongArray() : null;
            viewsByPayload.add(viewed ? new IdentityHashMap<>() : null);
            switch (slots[k]) {
                case PERSISTENT -> {
                    bound[k] = viewed ? view(persistent.get(reads[k]), viewShapes[k])
                            : persistent.get(input);
                    if (!update && accumulators.contains(input) && op.def().mutatedInputs().contains(k)
                            && !(op.def() instanceof AccumulateGrad)) {
                        zeroed.add(bound[k]);
                    }
                }
                case LEARNING_RATE -> bound[k] = rate = HostTensors.allocate(input.type());
                case OPTIMIZER_STEP -> bound[k] = step = HostTensors.allocate(input.type());
                default -> {
                }
            }
        }
        learningRate = rate;
        optimizerStep = step;
        zeroAtIterationStart = zeroed.toArray(INDArray[]::new);
    }

    /** Output buffers come from the device's {@link RegisterPool}, lent to a register while it is alive. */
    @Override
    public boolean lendsPayloads() {
        return true;
    }

    @Override
    public Object createPayload(int output, int register) {
        // Outputs past the op's own are ordering tokens without payload.
        return output < outputs.length ? pool.take(op.output(output).type()) : null;
    }

    @Override
    public void returnPayload(int output, Object payload) {
        pool.giveBack(op.output(output).type(), (INDArray) payload);
    }

    @Override
    public void act(ActionContext context) {
        ComputeThreads.applyToCurrentThread();
        int microBatch = context.microBatch();
        if (update && microBatch != run.microBatches - 1) {
            return;
        }
        int runIteration = (int) context.iteration();
        long iteration = run.firstIteration + runIteration;
        for (int k = 0; k < slots.length; k++) {
            if (slots[k] < 0) {
                inputs[k] = bound[k];
            } else if (viewShapes[k] == null) {
                inputs[k] = (INDArray) context.input(slots[k]);
            } else {
                long[] shape = viewShapes[k];
                inputs[k] = viewsByPayload.get(k).computeIfAbsent((INDArray) context.input(slots[k]),
                        payload -> view(payload, shape));
            }
        }
        for (int o = 0; o < outputs.length; o++) {
            outputs[o] = (INDArray) context.output(o);
        }
        if (learningRate != null) {
            setScalar(learningRate, run.learningRates[runIteration]);
        }
        if (optimizerStep != null) {
            setScalar(optimizerStep, iteration + 1);
        }
        if (microBatch == 0) {
            for (INDArray accumulator : zeroAtIterationStart) {
                accumulator.assign(0);
            }
        }
        try {
            kernel.run(inputs, outputs, new KernelContext(iteration, update ? 0 : microBatch));
        } catch (RuntimeException e) {
            throw new KernelException(op.name(), op.def().type(), iteration, microBatch, e);
        }
        if (run.nonFinite != null) {
            checkOutputs(microBatch);
        }
    }

    private void checkOutputs(int microBatch) {
        for (int o = 0; o < outputs.length; o++) {
            if (HostTensors.hasNonFinite(outputs[o])) {
                run.nonFinite.add(new NonFiniteOutput(op, op.output(o).name(), microBatch));
                return;
            }
        }
        for (int k : op.def().mutatedInputs()) {
            if (HostTensors.hasNonFinite(inputs[k])) {
                run.nonFinite.add(new NonFiniteOutput(op, op.input(k).name(), microBatch));
                return;
            }
        }
    }

    /** {@code buffer} in another shape, sharing its memory (register and parameter buffers are C-order). */
    private INDArray view(INDArray buffer, long[] shape) {
        INDArray view = buffer.reshape('c', shape);
        if (view.data().address() != buffer.data().address() || view.offset() != buffer.offset()) {
            throw new IllegalStateException("op '" + op.name() + "': a reshape of a " + buffer.ordering()
                    + "-order buffer is not a view; the plan compiler folds reshapes of C-order buffers only");
        }
        return view;
    }

    /**
     * Writes a schedule value into a scalar buffer, rounded to its dtype as the reference's
     * {@code HostTensor.convert} rounds it ({@code (float) value}), without the reference's
     * array round trip: every update op does this each iteration.
     */
    private static void setScalar(INDArray buffer, double value) {
        if (buffer.dataType() == DataType.FLOAT) {
            buffer.putScalar(0, (float) value);
        } else {
            buffer.putScalar(0, value);
        }
    }

    void close() {
        // the output buffers belong to the device's pool, which the executor closes
    }
}
