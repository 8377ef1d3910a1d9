package dev.tessera.graph;

import java.util.List;
import java.util.stream.Collectors;

/** Inputs that do not fit an op, found while the graph is built. Names the op and every input shape. */
public final class ShapeException extends IllegalArgumentException {
    private final String opName;

    public ShapeException(String opName, String opType, List<Tensor> inputs, String detail) {
        super("op '" + opName + "' (" + opType + ") cannot take inputs "
                + inputs.stream().map(t -> t.name() + " " + t.shape() + " " + t.dtype()).collect(Collectors.joining(", "))
                + ": " + detail);
        this.opName = opName;
    }

    public String opName() {
        return opName;
    }
}
