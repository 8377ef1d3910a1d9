package dev.tessera.graph;

import java.util.Objects;

/**
 * A symbolic tensor of a graph: a name, a shape, a dtype, and the op that produces it (none for
 * inputs, parameters and state). Identity is the id, unique within one graph.
 */
public final class Tensor {
    private final int id;
    private final String name;
    private final Shape shape;
    private final DType dtype;
    private final TensorKind kind;
    private final Initializer initializer;
    private Op producer;

    Tensor(int id, String name, Shape shape, DType dtype, TensorKind kind, Initializer initializer) {
        this.id = id;
        this.name = Objects.requireNonNull(name);
        this.shape = Objects.requireNonNull(shape);
        this.dtype = Objects.requireNonNull(dtype);
        this.kind = kind;
        this.initializer = initializer;
    }

    public int id() {
        return id;
    }

    public String name() {
        return name;
    }

    public Shape shape() {
        return shape;
    }

    public DType dtype() {
        return dtype;
    }

    public TensorKind kind() {
        return kind;
    }

    /** How a parameter or state tensor starts; null for inputs and activations. */
    public Initializer initializer() {
        return initializer;
    }

    /** The op that writes this tensor, or null for inputs, parameters and state. */
    public Op producer() {
        return producer;
    }

    void setProducer(Op op) {
        this.producer = op;
    }

    public TensorType type() {
        return new TensorType(shape, dtype);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Tensor t && t.id == id && t.name.equals(name);
    }

    @Override
    public int hashCode() {
        return id;
    }

    @Override
    public String toString() {
        return name + shape + ":" + dtype;
    }
}
