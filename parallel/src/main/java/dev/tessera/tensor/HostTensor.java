package dev.tessera.tensor;

import dev.tessera.graph.DType;
import dev.tessera.graph.Shape;
import java.util.Arrays;
import java.util.Objects;

/**
 * A dense tensor in plain Java arrays, row-major: how data crosses module seams (data sources,
 * checkpoints, tests) without any compute library. Exactly one of the arrays is non-null,
 * matching {@link #dtype()}.
 */
public final class HostTensor {
    private final Shape shape;
    private final DType dtype;
    private final float[] f32;
    private final double[] f64;
    private final int[] i32;

    private HostTensor(Shape shape, DType dtype, float[] f32, double[] f64, int[] i32) {
        this.shape = Objects.requireNonNull(shape);
        this.dtype = dtype;
        this.f32 = f32;
        this.f64 = f64;
        this.i32 = i32;
        int length = f32 != null ? f32.length : f64 != null ? f64.length : i32.length;
        if (length != shape.size()) {
            throw new IllegalArgumentException(
                    "data of length " + length + " does not fit shape " + shape + " (" + shape.size() + " elements)");
        }
    }

    public static HostTensor ofFloats(Shape shape, float[] data) {
        return new HostTensor(shape, DType.F32, data, null, null);
    }

    public static HostTensor ofDoubles(Shape shape, double[] data) {
        return new HostTensor(shape, DType.F64, null, data, null);
    }

    public static HostTensor ofInts(Shape shape, int[] data) {
        return new HostTensor(shape, DType.I32, null, null, data);
    }

    public static HostTensor zeros(Shape shape, DType dtype) {
        int n = Math.toIntExact(shape.size());
        return switch (dtype) {
            case F32 -> ofFloats(shape, new float[n]);
            case F64 -> ofDoubles(shape, new double[n]);
            case I32 -> ofInts(shape, new int[n]);
        };
    }

    public Shape shape() {
        return shape;
    }

    public DType dtype() {
        return dtype;
    }

    public int size() {
        return (int) shape.size();
    }

    /** The backing array of an F32 tensor (not a copy). */
    public float[] floats() {
        if (f32 == null) {
            throw new IllegalStateException("tensor is " + dtype + ", not F32");
        }
        return f32;
    }

    /** The backing array of an F64 tensor (not a copy). */
    public double[] doubles() {
        if (f64 == null) {
            throw new IllegalStateException("tensor is " + dtype + ", not F64");
        }
        return f64;
    }

    /** The backing array of an I32 tensor (not a copy). */
    public int[] ints() {
        if (i32 == null) {
            throw new IllegalStateException("tensor is " + dtype + ", not I32");
        }
        return i32;
    }

    /** Element {@code i} (row-major flat index) as a double, whatever the dtype. */
    public double getDouble(int i) {
        return switch (dtype) {
            case F32 -> f32[i];
            case F64 -> f64[i];
            case I32 -> i32[i];
        };
    }

    /** A copy with every element converted to {@code target}. */
    public HostTensor convert(DType target) {
        int n = size();
        return switch (target) {
            case F32 -> {
                float[] out = new float[n];
                for (int i = 0; i < n; i++) {
                    out[i] = (float) getDouble(i);
                }
                yield ofFloats(shape, out);
            }
            case F64 -> {
                double[] out = new double[n];
                for (int i = 0; i < n; i++) {
                    out[i] = getDouble(i);
                }
                yield ofDoubles(shape, out);
            }
            case I32 -> {
                int[] out = new int[n];
                for (int i = 0; i < n; i++) {
                    out[i] = (int) getDouble(i);
                }
                yield ofInts(shape, out);
            }
        };
    }

    public HostTensor copy() {
        return new HostTensor(shape, dtype,
                f32 == null ? null : f32.clone(), f64 == null ? null : f64.clone(), i32 == null ? null : i32.clone());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof HostTensor t && shape.equals(t.shape) && dtype == t.dtype
                && Arrays.equals(f32, t.f32) && Arrays.equals(f64, t.f64) && Arrays.equals(i32, t.i32);
    }

    @Override
    public int hashCode() {
        return shape.hashCode() * 31 + dtype.hashCode();
    }

    @Override
    public String toString() {
        return "HostTensor" + shape + " " + dtype;
    }
}
