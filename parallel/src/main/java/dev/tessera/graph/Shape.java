package dev.tessera.graph;

import java.util.Arrays;

/**
 * The dimensions of a tensor, outermost first. A scalar has rank 0. Immutable.
 */
public final class Shape {
    private static final Shape SCALAR = new Shape(new int[0]);

    private final int[] dims;

    private Shape(int[] dims) {
        this.dims = dims;
    }

    public static Shape of(int... dims) {
        for (int d : dims) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(dims));
            }
        }
        return dims.length == 0 ? SCALAR : new Shape(dims.clone());
    }

    public static Shape of(long... dims) {
        int[] ints = new int[dims.length];
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("dimension too large in shape " + Arrays.toString(dims));
            }
            ints[i] = (int) dims[i];
        }
        return of(ints);
    }

    public static Shape scalar() {
        return SCALAR;
    }

    public int rank() {
        return dims.length;
    }

    /** The size of axis {@code axis}; a negative axis counts from the end (-1 is the last). */
    public int dim(int axis) {
        return dims[normalizeAxis(axis)];
    }

    /** Maps a possibly negative axis to 0..rank-1, or throws naming the shape. */
    public int normalizeAxis(int axis) {
        int a = axis < 0 ? axis + dims.length : axis;
        if (a < 0 || a >= dims.length) {
            throw new IllegalArgumentException("axis " + axis + " is out of range for shape " + this);
        }
        return a;
    }

    /** Number of elements. */
    public long size() {
        long n = 1;
        for (int d : dims) {
            n *= d;
        }
        return n;
    }

    public int[] toArray() {
        return dims.clone();
    }

    public long[] toLongArray() {
        long[] out = new long[dims.length];
        for (int i = 0; i < dims.length; i++) {
            out[i] = dims[i];
        }
        return out;
    }

    /** This shape with axis {@code axis} replaced by {@code size}. */
    public Shape with(int axis, int size) {
        int[] d = dims.clone();
        d[normalizeAxis(axis)] = size;
        return new Shape(d);
    }

    /** This shape without its last axis. */
    public Shape dropLast() {
        return of(Arrays.copyOf(dims, dims.length - 1));
    }

    /** This shape with {@code size} appended as a new last axis. */
    public Shape append(int size) {
        int[] d = Arrays.copyOf(dims, dims.length + 1);
        d[dims.length] = size;
        return new Shape(d);
    }

    /** Product of all dimensions but the last: the number of rows when viewed as a matrix. */
    public long rows() {
        return dims.length == 0 ? 1 : size() / dims[dims.length - 1];
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Shape s && Arrays.equals(dims, s.dims);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(dims);
    }

    @Override
    public String toString() {
        return Arrays.toString(dims);
    }
}
