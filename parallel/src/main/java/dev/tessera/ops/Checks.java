package dev.tessera.ops;

import dev.tessera.graph.DType;
import dev.tessera.graph.TensorType;
import java.util.List;

/** Small guards for shape inference: each throws IllegalArgumentException with a readable reason. */
public final class Checks {
    private Checks() {
    }

    public static void require(boolean condition, String reason) {
        if (!condition) {
            throw new IllegalArgumentException(reason);
        }
    }

    public static void arity(List<TensorType> inputs, int expected) {
        require(inputs.size() == expected, "expected " + expected + " inputs, got " + inputs.size());
    }

    public static void floating(TensorType t, String what) {
        require(t.dtype().isFloating(), what + " must be F32 or F64, got " + t.dtype());
    }

    public static void sameType(TensorType a, TensorType b) {
        require(a.equals(b), "inputs must have the same shape and dtype, got " + a + " and " + b);
    }

    public static void integer(TensorType t, String what) {
        require(t.dtype() == DType.I32, what + " must be I32, got " + t.dtype());
    }
}
