package dev.tessera.graph;

import java.util.List;

/**
 * A model's forward computation as written by the user: ops in topological order, the data
 * inputs, the parameters, and the named outputs (the loss and, usually, logits).
 */
public final class LogicalGraph {
    private final Graph store;
    private final List<Op> ops;
    private final List<Tensor> inputs;
    private final List<Tensor> parameters;

    LogicalGraph(Graph store, List<Op> ops, List<Tensor> inputs, List<Tensor> parameters) {
        this.store = store;
        this.ops = List.copyOf(ops);
        this.inputs = List.copyOf(inputs);
        this.parameters = List.copyOf(parameters);
    }

    /**
     * A graph over ops already in {@code store}, e.g. the per-device forward ops a lowering
     * built; {@code ops} must be in a topological order.
     */
    public static LogicalGraph of(Graph store, List<Op> ops, List<Tensor> inputs, List<Tensor> parameters) {
        return new LogicalGraph(store, ops, inputs, parameters);
    }

    /** The store this graph lives in; autodiff appends the backward ops to it. */
    public Graph store() {
        return store;
    }

    public List<Op> ops() {
        return ops;
    }

    public List<Tensor> inputs() {
        return inputs;
    }

    public List<Tensor> parameters() {
        return parameters;
    }

    /** The tensor with this name. */
    public Tensor tensor(String name) {
        Tensor t = store.tensor(name);
        if (t == null) {
            throw new IllegalArgumentException("graph has no tensor named '" + name + "'");
        }
        return t;
    }

    public long parameterCount() {
        return parameters.stream().mapToLong(p -> p.shape().size()).sum();
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        for (Tensor t : inputs) {
            sb.append("input ").append(t).append('\n');
        }
        for (Tensor t : parameters) {
            sb.append("param ").append(t).append('\n');
        }
        for (Op op : ops) {
            sb.append(op).append(" -> ").append(op.outputs()).append('\n');
        }
        return sb.toString();
    }
}
