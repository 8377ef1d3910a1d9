package dev.tessera.worker.exec;

import dev.tessera.api.Inference;
import dev.tessera.api.Model;
import dev.tessera.autodiff.AccumulateGrad;
import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.graph.Op;
import dev.tessera.graph.ParameterInit;
import dev.tessera.graph.Tensor;
import dev.tessera.graph.TensorKind;
import dev.tessera.tensor.HostTensor;
import dev.tessera.worker.kernel.KernelContext;
import dev.tessera.worker.kernel.KernelRegistry;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The oracle: runs a {@link TrainingGraph} on one device, one op at a time, in the graph's order.
 * Every parallel configuration of Tessera is tested against what this class computes, so it
 * stays plain: one buffer per tensor, forward then backward per micro-batch, then the update.
 *
 * <p>A step stops before anything is updated when a loss or the gradient norm is NaN or
 * infinite: a NaN or infinity in any gradient element makes the sum of squares under the norm
 * non-finite, so checking that one scalar guards every parameter. Only then is the step replayed
 * op by op to name the first op whose output was not finite.
 */
public final class ReferenceExecutor implements TrainingExecutor {
    private final TrainingGraph graph;
    private final KernelRegistry kernels;
    private final Map<Tensor, INDArray> buffers = new HashMap<>();
    private final Program forward;
    private final Program backward;
    /** The update ops up to the gradient norm: they only read parameters, state and gradients. */
    private final Program norm;
    /** The update ops after the norm (clipping, the optimizer steps): they run only with a finite norm. */
    private final Program apply;
    private final Set<Tensor> overwrittenAtFirstMicroBatch;
    private long iteration;

    public ReferenceExecutor(TrainingGraph graph, long seed) {
        this(graph, seed, KernelRegistry.standard());
    }

    public ReferenceExecutor(TrainingGraph graph, long seed, KernelRegistry kernels) {
        this.graph = graph;
        this.kernels = kernels;
        for (Tensor p : graph.parameters()) {
            buffers.put(p, HostTensors.toNd4j(ParameterInit.materialize(p, seed)));
        }
        this.forward = Program.compile(graph.forwardOps(), buffers, kernels);
        this.backward = Program.compile(graph.backwardOps(), buffers, kernels);
        List<Op> updateOps = graph.updateOps();
        int normEnd = normEnd(graph);
        this.norm = Program.compile(updateOps.subList(0, normEnd), buffers, kernels);
        this.apply = Program.compile(updateOps.subList(normEnd, updateOps.size()), buffers, kernels);
        this.overwrittenAtFirstMicroBatch = accumulatedByTheirOp(graph);
    }

    /**
     * The index after the update op that computes the gradient norm.
     *
     * @throws IllegalArgumentException if no update op computes it, or an update op before it
     *     writes a tensor (that write would escape the check of the norm)
     */
    private static int normEnd(TrainingGraph graph) {
        List<Op> updateOps = graph.updateOps();
        for (int i = 0; i < updateOps.size(); i++) {
            Op op = updateOps.get(i);
            if (!op.def().mutatedInputs().isEmpty()) {
                throw new IllegalArgumentException("update op '" + op.name() + "' writes '"
                        + op.input(op.def().mutatedInputs().get(0)).name() + "' before the gradient norm '"
                        + graph.gradNorm().name() + "' is computed; the norm is checked before any update, so "
                        + "order the update ops after it");
            }
            if (op.outputs().contains(graph.gradNorm())) {
                return i + 1;
            }
        }
        throw new IllegalArgumentException("no update op computes the gradient norm '" + graph.gradNorm().name() + "'");
    }

    public TrainingGraph graph() {
        return graph;
    }

    /** Iterations completed so far. */
    @Override
    public long iteration() {
        return iteration;
    }

    /**
     * Runs one training iteration: forward and backward for each micro-batch, gradient
     * accumulation, clipping and the optimizer update.
     *
     * @param microBatches exactly {@code options().microBatches()} batches keyed by input name
     * @throws NonFiniteException if a micro-batch's loss or the gradient norm is NaN or infinite
     *     (nothing is updated, {@link #iteration()} stays the failing one)
     * @throws KernelException if a kernel fails
     * @throws IllegalArgumentException if an input is missing or has the wrong shape or dtype
     */
    @Override
    public StepResult step(List<Map<String, HostTensor>> microBatches, double learningRate) {
        double loss = accumulateGradients(microBatches);
        HostTensors.copyInto(scalar(learningRate), buffer(graph.learningRate()));
        HostTensors.copyInto(scalar(iteration + 1), buffer(graph.optimizerStep()));
        KernelContext context = new KernelContext(iteration, 0);
        norm.run(context);
        double gradNorm = buffers.get(graph.gradNorm()).getDouble(0);
        if (!Double.isFinite(gradNorm)) {
            throw nonFiniteGradient(microBatches, gradNorm);
        }
        apply.run(context);
        iteration++;
        return new StepResult(loss, gradNorm);
    }

    /** The iterations one after the other, as {@link #step}; a failing one stops the rest. */
    @Override
    public List<StepResult> run(List<List<Map<String, HostTensor>>> batchesPerIteration, double[] learningRates) {
        if (batchesPerIteration.isEmpty() || learningRates.length != batchesPerIteration.size()) {
            throw new IllegalArgumentException("expected at least one iteration and one learning rate per iteration, "
                    + "got " + batchesPerIteration.size() + " iterations and " + learningRates.length + " rates");
        }
        List<StepResult> results = new ArrayList<>(batchesPerIteration.size());
        for (int t = 0; t < batchesPerIteration.size(); t++) {
            results.add(step(batchesPerIteration.get(t), learningRates[t]));
        }
        return results;
    }

    /**
     * Names what made the gradient norm non-finite. Nothing was updated, so replaying the
     * iteration from the start recomputes the same values (dropout masks depend only on the
     * iteration and micro-batch); it runs op by op and stops at the first op that wrote a NaN or
     * an infinity: a forward op (a finite loss can hide one), a backward op, or, when every
     * gradient is finite, a squared norm or the norm that overflowed.
     */
    private NonFiniteException nonFiniteGradient(List<Map<String, HostTensor>> microBatches, double gradNorm) {
        Tensor gradient = firstNonFiniteGradient();
        zeroAccumulators();
        Program.Written found = null;
        String where = "";
        for (int j = 0; j < microBatches.size() && found == null; j++) {
            feed(microBatches.get(j));
            KernelContext context = new KernelContext(iteration, j);
            found = forward.runUntilNonFinite(context);
            if (found == null) {
                found = backward.runUntilNonFinite(context);
            }
            if (found != null) {
                where = "micro-batch " + j + ", tensor '" + found.tensor().name() + "', ";
            }
        }
        if (found == null) {
            found = norm.runUntilNonFinite(new KernelContext(iteration, 0));
        }
        String op = found == null ? graph.gradNorm().producer().name() : found.op().name();
        if (gradient != null) {
            return NonFiniteException.gradient(iteration, gradient.name(), op, where + "gradient norm " + gradNorm);
        }
        return NonFiniteException.gradientNorm(iteration, graph.gradNorm().name(), op, where + "every gradient is "
                + "finite but the sum of their squares overflows " + graph.gradNorm().dtype() + ", gradient norm "
                + gradNorm);
    }

    /** The accumulated gradient of the first parameter (in graph order) with a NaN or an infinity, or null. */
    private Tensor firstNonFiniteGradient() {
        for (Tensor p : graph.parameters()) {
            Tensor accumulator = graph.accumulator(p);
            if (accumulator != null && HostTensors.hasNonFinite(buffers.get(accumulator))) {
                return accumulator;
            }
        }
        return null;
    }

    /**
     * Forward and backward over the micro-batches without updating: the gradient of the mean loss
     * for every parameter, keyed by parameter name. For tests and gradient checks.
     */
    @Override
    public Map<String, HostTensor> gradients(List<Map<String, HostTensor>> microBatches) {
        accumulateGradients(microBatches);
        Map<String, HostTensor> out = new LinkedHashMap<>();
        for (Tensor p : graph.parameters()) {
            Tensor acc = graph.accumulator(p);
            out.put(p.name(), acc == null ? HostTensor.zeros(p.shape(), p.dtype()) : HostTensors.toHost(buffers.get(acc)));
        }
        return out;
    }

    /** The mean loss over the micro-batches, forward only. */
    public double loss(List<Map<String, HostTensor>> microBatches) {
        double total = 0;
        for (int j = 0; j < microBatches.size(); j++) {
            feed(microBatches.get(j));
            forward.run(new KernelContext(iteration, j));
            total += buffers.get(graph.loss()).getDouble(0);
        }
        return total / microBatches.size();
    }

    private double accumulateGradients(List<Map<String, HostTensor>> microBatches) {
        BatchCheck.requireCount(microBatches, graph.options().microBatches());
        zeroAccumulators();
        double total = 0;
        for (int j = 0; j < microBatches.size(); j++) {
            feed(microBatches.get(j));
            KernelContext context = new KernelContext(iteration, j);
            forward.run(context);
            double loss = buffers.get(graph.loss()).getDouble(0);
            if (!Double.isFinite(loss)) {
                Program.Written culprit = forward.runUntilNonFinite(context);
                throw NonFiniteException.loss(iteration, graph.loss().name(),
                        culprit == null ? graph.loss().producer().name() : culprit.op().name(),
                        "micro-batch " + j + ", loss " + loss);
            }
            total += loss;
            backward.run(context);
        }
        return total / microBatches.size();
    }

    /**
     * Zeroes the accumulators no {@link AccumulateGrad} writes; one that does overwrites its
     * accumulator at micro-batch 0 itself (one pass instead of zeroing and adding).
     */
    private void zeroAccumulators() {
        for (Tensor p : graph.parameters()) {
            Tensor acc = graph.accumulator(p);
            if (acc != null && !overwrittenAtFirstMicroBatch.contains(acc)) {
                buffers.get(acc).assign(0);
            }
        }
    }

    /** The accumulators an {@link AccumulateGrad} of the backward ops writes. */
    private static Set<Tensor> accumulatedByTheirOp(TrainingGraph graph) {
        Set<Tensor> written = new HashSet<>();
        for (Op op : graph.backwardOps()) {
            if (op.def() instanceof AccumulateGrad) {
                written.add(op.input(0));
            }
        }
        return written;
    }

    private void feed(Map<String, HostTensor> batch) {
        for (Tensor input : graph.forward().inputs()) {
            HostTensors.copyInto(BatchCheck.value(input, batch), buffer(input));
        }
    }

    private INDArray buffer(Tensor t) {
        return buffers.computeIfAbsent(t, k -> HostTensors.allocate(k.type()));
    }

    private HostTensor scalar(double value) {
        return HostTensor.ofDoubles(dev.tessera.graph.Shape.scalar(), new double[] {value})
                .convert(graph.loss().dtype());
    }

    /** Current parameter values by name (copies). */
    @Override
    public Map<String, HostTensor> parameters() {
        Map<String, HostTensor> out = new LinkedHashMap<>();
        for (Tensor p : graph.parameters()) {
            out.put(p.name(), HostTensors.toHost(buffers.get(p)));
        }
        return out;
    }

    /** Current optimizer state (momentum or Adam moments) by name (copies). */
    @Override
    public Map<String, HostTensor> optimizerState() {
        Map<String, HostTensor> out = new LinkedHashMap<>();
        for (Tensor s : graph.optimizerState()) {
            out.put(s.name(), HostTensors.toHost(buffers.get(s)));
        }
        return out;
    }

    /** Overwrites one parameter. */
    public void setParameter(String name, HostTensor value) {
        Tensor p = graph.forward().tensor(name);
        if (p.kind() != TensorKind.PARAMETER) {
            throw new IllegalArgumentException("'" + name + "' is not a parameter");
        }
        HostTensors.copyInto(value.convert(p.dtype()), buffers.get(p));
    }

    /**
     * Continues from saved values: every parameter and state tensor must be present with its
     * shape, so a checkpoint of another model is refused rather than half-loaded.
     */
    @Override
    public void restore(Map<String, HostTensor> parameters, Map<String, HostTensor> optimizerState, long iteration) {
        BatchCheck.requireAll(graph.parameters(), parameters, "parameter");
        BatchCheck.requireAll(graph.optimizerState(), optimizerState, "optimizer state");
        for (Tensor p : graph.parameters()) {
            HostTensors.copyInto(parameters.get(p.name()), buffers.get(p));
        }
        for (Tensor s : graph.optimizerState()) {
            HostTensors.copyInto(optimizerState.get(s.name()), buffers.get(s));
        }
        this.iteration = iteration;
    }

    /** Forward-only evaluation of {@code model} with this executor's current weights. */
    @Override
    public Inference inference(Model model) {
        return new ForwardInference(model, graph.forward().store(), buffers, graph.loss().dtype(), kernels, this::iteration);
    }

    @Override
    public void close() {
        buffers.values().forEach(INDArray::close);
        buffers.clear();
    }
}
