package dev.tessera.graph;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The append-only store behind a graph: tensors and ops in creation order, which is always a
 * topological order. Builders and autodiff append; nothing is ever removed or reordered.
 */
public final class Graph {
    private final List<Tensor> tensors = new ArrayList<>();
    private final List<Op> ops = new ArrayList<>();
    private final Map<String, Tensor> tensorsByName = new HashMap<>();
    private final Map<String, Integer> nameCounts = new HashMap<>();

    /** A name not used yet in this graph, derived from {@code base}. */
    public String uniqueName(String base) {
        int n = nameCounts.merge(base, 1, Integer::sum);
        String name = n == 1 ? base : base + "_" + (n - 1);
        while (tensorsByName.containsKey(name)) {
            n = nameCounts.merge(base, 1, Integer::sum);
            name = base + "_" + (n - 1);
        }
        return name;
    }

    /** Adds a tensor that no op produces (input, parameter or state). */
    public Tensor newTensor(String name, Shape shape, DType dtype, TensorKind kind, Initializer init) {
        if (tensorsByName.containsKey(name)) {
            throw new IllegalArgumentException("a tensor named '" + name + "' already exists; give it another name");
        }
        Tensor t = new Tensor(tensors.size(), name, shape, dtype, kind, init);
        tensors.add(t);
        tensorsByName.put(name, t);
        return t;
    }

    /**
     * Appends an op after checking its input types with the op's shape inference.
     *
     * @throws ShapeException naming the op, its inputs and their shapes when they do not fit
     */
    public Op addOp(String baseName, OpDef def, List<Tensor> inputs, Phase phase) {
        return addOp(baseName, def, inputs, phase, null);
    }

    /**
     * Appends a backward or update op that belongs to {@code forwardOp} (see {@link Op#forwardOp()}).
     *
     * @param forwardOp an op of this graph, or null for none
     * @throws ShapeException naming the op, its inputs and their shapes when they do not fit
     */
    public Op addOp(String baseName, OpDef def, List<Tensor> inputs, Phase phase, Op forwardOp) {
        if (forwardOp != null && (forwardOp.id() >= ops.size() || ops.get(forwardOp.id()) != forwardOp)) {
            throw new IllegalArgumentException("op '" + baseName + "' names forward op '" + forwardOp.name()
                    + "', which is not an op of this graph; pass an op of the same graph");
        }
        String name = uniqueName(baseName);
        List<TensorType> inTypes = inputs.stream().map(Tensor::type).toList();
        List<TensorType> outTypes;
        try {
            outTypes = def.inferOutputs(inTypes);
        } catch (IllegalArgumentException | IndexOutOfBoundsException e) {
            throw new ShapeException(name, def.type(), inputs, e.getMessage());
        }
        List<Tensor> outputs = new ArrayList<>(outTypes.size());
        for (int i = 0; i < outTypes.size(); i++) {
            String tensorName = outTypes.size() == 1 ? name : name + ":" + i;
            TensorType t = outTypes.get(i);
            outputs.add(newTensor(tensorName, t.shape(), t.dtype(), TensorKind.ACTIVATION, null));
        }
        Op op = new Op(ops.size(), name, def, inputs, outputs, phase, forwardOp);
        for (Tensor t : outputs) {
            t.setProducer(op);
        }
        ops.add(op);
        return op;
    }

    /** Re-tags an op (autodiff decides B or W only after every rule ran). */
    public void replacePhase(Op op, Phase phase) {
        ops.set(op.id(), op.withPhase(phase));
    }

    public List<Op> ops() {
        return Collections.unmodifiableList(ops);
    }

    public List<Tensor> tensors() {
        return Collections.unmodifiableList(tensors);
    }

    public Op op(int id) {
        return ops.get(id);
    }

    /** The tensor with this name, or null. */
    public Tensor tensor(String name) {
        return tensorsByName.get(name);
    }
}
