package dev.tessera.sbp;

import dev.tessera.graph.Shape;
import java.util.Arrays;

/**
 * A box of a logical tensor: where it starts on each tensor axis and how long it is. What one
 * device holds of a split tensor, and what a send/recv moves.
 */
public final class Region {
    private final int[] offsets;
    private final int[] sizes;

    public Region(int[] offsets, int[] sizes) {
        if (offsets.length != sizes.length) {
            throw new IllegalArgumentException("region offsets " + Arrays.toString(offsets) + " and sizes "
                    + Arrays.toString(sizes) + " have different ranks");
        }
        this.offsets = offsets.clone();
        this.sizes = sizes.clone();
    }

    /** The whole of a tensor of {@code shape}. */
    public static Region whole(Shape shape) {
        return new Region(new int[shape.rank()], shape.toArray());
    }

    public int rank() {
        return sizes.length;
    }

    public int offset(int axis) {
        return offsets[axis];
    }

    public int size(int axis) {
        return sizes[axis];
    }

    public int[] offsets() {
        return offsets.clone();
    }

    public Shape shape() {
        return Shape.of(sizes);
    }

    public long elements() {
        long n = 1;
        for (int s : sizes) {
            n *= s;
        }
        return n;
    }

    /** This region narrowed on {@code axis} to {@code length} elements from {@code start} (relative to this region). */
    public Region narrow(int axis, int start, int length) {
        int[] o = offsets.clone();
        int[] s = sizes.clone();
        o[axis] += start;
        s[axis] = length;
        return new Region(o, s);
    }

    /** The overlap of two regions; empty (some size 0) when they do not overlap. */
    public Region intersect(Region other) {
        int[] o = new int[sizes.length];
        int[] s = new int[sizes.length];
        for (int a = 0; a < sizes.length; a++) {
            o[a] = Math.max(offsets[a], other.offsets[a]);
            int end = Math.min(offsets[a] + sizes[a], other.offsets[a] + other.sizes[a]);
            s[a] = Math.max(0, end - o[a]);
        }
        return new Region(o, s);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Region r && Arrays.equals(offsets, r.offsets) && Arrays.equals(sizes, r.sizes);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(offsets) * 31 + Arrays.hashCode(sizes);
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("[");
        for (int a = 0; a < sizes.length; a++) {
            sb.append(a == 0 ? "" : ", ").append(offsets[a]).append(':').append(offsets[a] + sizes[a]);
        }
        return sb.append(']').toString();
    }
}
