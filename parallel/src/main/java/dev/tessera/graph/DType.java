package dev.tessera.graph;

/** Element type of a tensor. Training runs in F32; F64 exists for gradient checks; I32 holds labels and token ids. */
public enum DType {
    F32(4),
    F64(8),
    I32(4);

    private final int bytes;

    DType(int bytes) {
        this.bytes = bytes;
    }

    /** Size of one element in bytes. */
    public int bytes() {
        return bytes;
    }

    public boolean isFloating() {
        return this != I32;
    }
}
