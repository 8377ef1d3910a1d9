package dev.tessera.runtime.transport;

/**
 * The element type of a {@link TensorBuffer}. The runtime's own names, so that actor-runtime
 * needs neither the graph IR nor a compute library to carry tensors.
 */
public enum ElementType {
    F32(4),
    F64(8),
    I32(4);

    private final int bytes;

    ElementType(int bytes) {
        this.bytes = bytes;
    }

    /** Size of one element in bytes. */
    public int bytes() {
        return bytes;
    }
}
