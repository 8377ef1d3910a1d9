package dev.tessera.worker.exec;

import dev.tessera.api.Inference;
import dev.tessera.api.Model;
import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.graph.Op;
import dev.tessera.graph.ParameterInit;
import dev.tessera.graph.Tensor;
import dev.tessera.graph.TensorKind;
import dev.tessera.tensor.HostTensor;
import dev.tessera.worker.kernel.KernelContext;
import dev.tessera.worker.kernel.KernelRegistry;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The oracle: runs a {@link TrainingGraph} on one device, one op at a time, in the graph's order.
 * Every parallel configuration of Tessera is tested against what this class computes, so it
 * stays plain: one buffer per tensor, forward then backward per micro-batch, then the update.
 */
public final class ReferenceExecutor implements AutoCloseable {
    private final TrainingGraph graph;
    private final KernelRegistry kernels;
    private final Map<Tensor, INDArray> buffers = new HashMap<>();
    private final Program forward;
    private final Program backward;
    private final Program update;
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
        this.update = Program.compile(graph.updateOps(), buffers, kernels);
    }

    public TrainingGraph graph() {
        return graph;
    }

    /** Iterations completed so far. */
    public long iteration() {
        return iteration;
    }

    /**
     * Runs one training iteration: forward and backward for each micro-batch, gradient
     * accumulation, clipping and the optimizer update.
     *
     * @param microBatches exactly {@code options().microBatches()} batches keyed by input name
     * @throws NonFiniteException if a micro-batch's loss is NaN or infinite (nothing is updated)
     * @throws KernelException if a kernel fails
     * @throws IllegalArgumentException if an input is missing or has the wrong shape or dtype
     */
    public StepResult step(List<Map<String, HostTensor>> microBatches, double learningRate) {
        double loss = accumulateGradients(microBatches);
        HostTensors.copyInto(scalar(learningRate), buffer(graph.learningRate()));
        HostTensors.copyInto(scalar(iteration + 1), buffer(graph.optimizerStep()));
        update.run(new KernelContext(iteration, 0));
        double norm = buffers.get(graph.gradNorm()).getDouble(0);
        iteration++;
        return new StepResult(loss, norm);
    }

    /**
     * Forward and backward over the micro-batches without updating: the gradient of the mean loss
     * for every parameter, keyed by parameter name. For tests and gradient checks.
     */
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
        for (Tensor p : graph.parameters()) {
            Tensor acc = graph.accumulator(p);
            if (acc != null) {
                buffers.get(acc).assign(0);
            }
        }
        double total = 0;
        for (int j = 0; j < microBatches.size(); j++) {
            feed(microBatches.get(j));
            KernelContext context = new KernelContext(iteration, j);
            forward.run(context);
            double loss = buffers.get(graph.loss()).getDouble(0);
            if (!Double.isFinite(loss)) {
                Op culprit = forward.runUntilNonFinite(context);
                throw new NonFiniteException(iteration, culprit == null ? graph.loss().name() : culprit.name(),
                        "micro-batch " + j + ", loss " + loss);
            }
            total += loss;
            backward.run(context);
        }
        return total / microBatches.size();
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
    public Map<String, HostTensor> parameters() {
        Map<String, HostTensor> out = new LinkedHashMap<>();
        for (Tensor p : graph.parameters()) {
            out.put(p.name(), HostTensors.toHost(buffers.get(p)));
        }
        return out;
    }

    /** Current optimizer state (momentum or Adam moments) by name (copies). */
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
    public Inference inference(Model model) {
        return new ForwardInference(model, graph.forward().store(), buffers, graph.loss().dtype(), kernels, this::iteration);
    }

    @Override
    public void close() {
        buffers.values().forEach(INDArray::close);
        buffers.clear();
    }
}
