package dev.tessera.graph;

/** Shape and dtype: what shape inference computes and checks. */
public record TensorType(Shape shape, DType dtype) {
    public static TensorType of(DType dtype, int... dims) {
        return new TensorType(Shape.of(dims), dtype);
    }

    public int rank() {
        return shape.rank();
    }

    @Override
    public String toString() {
        return shape + ":" + dtype;
    }
}
