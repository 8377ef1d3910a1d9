package dev.tessera.graph;

/**
 * How a parameter or state tensor gets its first value. Values are drawn on the host from a
 * generator seeded by the run seed and the tensor's name, so every executor and every device
 * layout starts from the same weights.
 */
public sealed interface Initializer {
    record Zeros() implements Initializer {
    }

    record Constant(double value) implements Initializer {
    }

    /** Normal(0, std). */
    record Normal(double std) implements Initializer {
    }

    /** Uniform(-limit, limit). */
    record Uniform(double limit) implements Initializer {
    }

    static Initializer zeros() {
        return new Zeros();
    }

    static Initializer constant(double value) {
        return new Constant(value);
    }

    static Initializer normal(double std) {
        return new Normal(std);
    }

    static Initializer uniform(double limit) {
        return new Uniform(limit);
    }

    /** Glorot/Xavier uniform for a [fanIn, fanOut] weight. */
    static Initializer xavier(int fanIn, int fanOut) {
        return new Uniform(Math.sqrt(6.0 / (fanIn + fanOut)));
    }
}
