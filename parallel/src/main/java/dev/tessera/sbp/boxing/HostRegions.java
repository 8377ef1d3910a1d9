package dev.tessera.sbp.boxing;

import dev.tessera.graph.DType;
import dev.tessera.tensor.HostTensor;
import java.util.List;

/** Block copies, slices, concatenations and sums of row-major {@link HostTensor}s, for every dtype. */
final class HostRegions {
    private HostRegions() {
    }

    private static Object data(HostTensor t) {
        return switch (t.dtype()) {
            case F32 -> t.floats();
            case F64 -> t.doubles();
            case I32 -> t.ints();
        };
    }

    /**
     * Copies the block of {@code sizes} at {@code sourceOffset} of {@code source} to
     * {@code targetOffset} of {@code target}, one contiguous run of the last axis at a time.
     */
    static void copy(HostTensor source, int[] sourceOffset, HostTensor target, int[] targetOffset, int[] sizes) {
        int rank = sizes.length;
        for (int s : sizes) {
            if (s == 0) {
                return;
            }
        }
        if (rank == 0) {
            System.arraycopy(data(source), 0, data(target), 0, 1);
            return;
        }
        int[] sourceDims = source.shape().toArray();
        int[] targetDims = target.shape().toArray();
        int[] index = new int[rank];
        int run = sizes[rank - 1];
        while (true) {
            long s = 0;
            long t = 0;
            for (int a = 0; a < rank; a++) {
                s = s * sourceDims[a] + sourceOffset[a] + index[a];
                t = t * targetDims[a] + targetOffset[a] + index[a];
            }
            System.arraycopy(data(source), (int) s, data(target), (int) t, run);
            int a = rank - 2;
            while (a >= 0 && ++index[a] == sizes[a]) {
                index[a] = 0;
                a--;
            }
            if (a < 0) {
                return;
            }
        }
    }

    /** The element-wise sum of tensors of one shape, added in list order (so every device that sums gets the same bits). */
    static HostTensor sum(List<HostTensor> parts) {
        HostTensor out = parts.get(0).copy();
        for (int i = 1; i < parts.size(); i++) {
            addInto(out, parts.get(i));
        }
        return out;
    }

    /** {@code target += source}, element-wise. */
    static void addInto(HostTensor target, HostTensor source) {
        int n = target.size();
        if (target.dtype() == DType.F32) {
            float[] t = target.floats();
            float[] s = source.floats();
            for (int i = 0; i < n; i++) {
                t[i] += s[i];
            }
        } else if (target.dtype() == DType.F64) {
            double[] t = target.doubles();
            double[] s = source.doubles();
            for (int i = 0; i < n; i++) {
                t[i] += s[i];
            }
        } else {
            int[] t = target.ints();
            int[] s = source.ints();
            for (int i = 0; i < n; i++) {
                t[i] += s[i];
            }
        }
    }

    /**
     * Row-major elements {@code start .. start+length} of {@code source} into {@code target} (same
     * shape): copied when {@code first}, else added ({@code target = target + source}, in the
     * element type).
     */
    static void foldRange(HostTensor target, HostTensor source, int start, int length, boolean first) {
        int end = start + length;
        switch (target.dtype()) {
            case F32 -> {
                float[] t = target.floats();
                float[] s = source.floats();
                for (int i = start; i < end; i++) {
                    t[i] = first ? s[i] : t[i] + s[i];
                }
            }
            case F64 -> {
                double[] t = target.doubles();
                double[] s = source.doubles();
                for (int i = start; i < end; i++) {
                    t[i] = first ? s[i] : t[i] + s[i];
                }
            }
            case I32 -> {
                int[] t = target.ints();
                int[] s = source.ints();
                for (int i = start; i < end; i++) {
                    t[i] = first ? s[i] : t[i] + s[i];
                }
            }
        }
    }

    /** {@code target[offset:offset+source.shape] += source}. */
    static void addInto(HostTensor target, int[] offset, HostTensor source) {
        HostTensor block = HostTensor.zeros(source.shape(), source.dtype());
        copy(target, offset, block, new int[offset.length], source.shape().toArray());
        addInto(block, source);
        copy(block, new int[offset.length], target, offset, source.shape().toArray());
    }
}
