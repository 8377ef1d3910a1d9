package dev.tessera.worker.exec;

import dev.tessera.api.Inference;
import dev.tessera.api.Model;
import dev.tessera.api.ModelGraph;
import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.graph.DType;
import dev.tessera.graph.Graph;
import dev.tessera.graph.GraphBuilder;
import dev.tessera.graph.LogicalGraph;
import dev.tessera.graph.Op;
import dev.tessera.graph.Tensor;
import dev.tessera.tensor.HostTensor;
import dev.tessera.worker.kernel.KernelContext;
import dev.tessera.worker.kernel.KernelRegistry;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.LongSupplier;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Runs a model's forward graph for evaluation, sharing the trained parameter buffers by name.
 * A graph is built per batch size on first use, with only the ops the logits need, so inputs
 * the loss alone reads (labels) may be absent; its intermediate tensors share buffers by
 * liveness ({@link Program#compileReusing}), so an evaluation holds about the largest set of
 * activations alive at once, not every activation of its forward pass.
 */
public final class ForwardInference implements Inference {
    private record Compiled(LogicalGraph graph, Tensor logits, List<Tensor> inputs, Program program,
            Map<Tensor, INDArray> buffers) {
    }

    private final Model model;
    private final Map<String, INDArray> parametersByName = new HashMap<>();
    private final DType floatType;
    private final KernelRegistry kernels;
    private final LongSupplier iteration;
    private final Map<Integer, Compiled> byBatchSize = new HashMap<>();

    public ForwardInference(Model model, Graph trainingStore, Map<Tensor, INDArray> trainingBuffers, DType floatType,
            KernelRegistry kernels, LongSupplier iteration) {
        this.model = model;
        this.floatType = floatType;
        this.kernels = kernels;
        this.iteration = iteration;
        for (Map.Entry<Tensor, INDArray> e : trainingBuffers.entrySet()) {
            if (e.getKey().kind() == dev.tessera.graph.TensorKind.PARAMETER) {
                parametersByName.put(e.getKey().name(), e.getValue());
            }
        }
    }

    /**
     * Evaluation of {@code graph}'s forward with host copies of the logical {@code parameters} (by name), written
     * into {@code weights}, which keeps one buffer per parameter across calls and is the caller's to close.
     */
    public static ForwardInference withParameters(Model model, TrainingGraph graph, Map<String, HostTensor> parameters,
            Map<Tensor, INDArray> weights, KernelRegistry kernels, LongSupplier iteration) {
        for (Tensor p : graph.parameters()) {
            INDArray buffer = weights.computeIfAbsent(p, t -> HostTensors.allocate(t.type()));
            HostTensors.copyInto(parameters.get(p.name()), buffer);
        }
        return new ForwardInference(model, graph.forward().store(), weights, graph.loss().dtype(), kernels, iteration);
    }

    @Override
    public HostTensor logits(Map<String, HostTensor> inputs) {
        if (inputs.isEmpty()) {
            throw new IllegalArgumentException("no inputs given");
        }
        int batch = inputs.values().iterator().next().shape().dim(0);
        Compiled c = byBatchSize.computeIfAbsent(batch, this::compile);
        for (Tensor input : c.inputs) {
            HostTensor value = inputs.get(input.name());
            if (value == null) {
                throw new IllegalArgumentException("evaluation needs input '" + input.name() + "'");
            }
            HostTensors.copyInto(value, c.buffers.get(input));
        }
        c.program.run(new KernelContext(iteration.getAsLong(), 0));
        return HostTensors.toHost(c.buffers.get(c.logits));
    }

    private Compiled compile(int batchSize) {
        GraphBuilder g = GraphBuilder.forInference(floatType);
        ModelGraph mg = model.build(g, batchSize);
        LogicalGraph graph = g.build();
        List<Op> needed = opsNeededFor(graph, mg.logits());
        Map<Tensor, INDArray> buffers = new HashMap<>();
        for (Tensor p : graph.parameters()) {
            INDArray shared = parametersByName.get(p.name());
            if (shared == null) {
                throw new IllegalStateException("evaluation graph has parameter '" + p.name() + "' that training lacks");
            }
            buffers.put(p, shared);
        }
        Set<Tensor> usedInputs = new HashSet<>();
        for (Op op : needed) {
            usedInputs.addAll(op.inputs());
        }
        List<Tensor> inputs = graph.inputs().stream().filter(usedInputs::contains).toList();
        for (Tensor input : inputs) {
            buffers.put(input, HostTensors.allocate(input.type()));
        }
        Program program = Program.compileReusing(needed, buffers, Set.of(mg.logits()), kernels);
        return new Compiled(graph, mg.logits(), inputs, program, buffers);
    }

    private static List<Op> opsNeededFor(LogicalGraph graph, Tensor target) {
        Set<Tensor> needed = new HashSet<>();
        needed.add(target);
        List<Op> ops = graph.ops();
        List<Op> keep = new ArrayList<>();
        for (int i = ops.size() - 1; i >= 0; i--) {
            Op op = ops.get(i);
            if (op.outputs().stream().anyMatch(needed::contains)) {
                keep.add(op);
                needed.addAll(op.inputs());
            }
        }
        java.util.Collections.reverse(keep);
        return keep;
    }
}
