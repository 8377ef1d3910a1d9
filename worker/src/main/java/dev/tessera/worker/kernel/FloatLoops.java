package dev.tessera.worker.kernel;

import java.nio.FloatBuffer;
import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Element-wise F32 kernels as plain Java loops over the raw buffers. On the 2-core build machine
 * (1 ND4J thread) ND4J's native pairwise and scalar ops took 8 to 12 ns per element at the sizes
 * of the example models (an in-place add of 784 x 256 floats: 2.5 ms), a Java loop about 0.3 ns.
 * Each loop computes exactly what the ND4J op computes in F32 (one rounding per float operation),
 * so results do not change (except {@link #columnSums}, which sums in double and so is more exact
 * than the F32 gemm it replaces). Callers use them when {@link #applies} holds and keep the ND4J op for
 * F64 and strided views.
 */
final class FloatLoops {
    private FloatLoops() {
    }

    /** Whether every array is F32 and C-contiguous, so element i is raw element offset + i. */
    static boolean applies(INDArray... arrays) {
        for (INDArray a : arrays) {
            if (a.dataType() != DataType.FLOAT || !RawBuffers.contiguous(a)) {
                return false;
            }
        }
        return true;
    }

    /** The elements of a contiguous F32 array as a buffer whose index 0 is element 0. */
    static FloatBuffer view(INDArray a) {
        return a.data().asNioFloat().position(RawBuffers.offset(a)).slice();
    }

    /** {@code out = a + b}; out may be a (in place). */
    static void add(INDArray a, INDArray b, INDArray out) {
        FloatBuffer x = view(a);
        FloatBuffer y = view(b);
        FloatBuffer z = view(out);
        for (int i = 0, n = length(out); i < n; i++) {
            z.put(i, x.get(i) + y.get(i));
        }
    }

    /** {@code out = 0 + a}: a copy, except that a negative zero becomes a positive one, as adding into zeros gives. */
    static void addToZero(INDArray a, INDArray out) {
        FloatBuffer x = view(a);
        FloatBuffer z = view(out);
        for (int i = 0, n = length(out); i < n; i++) {
            z.put(i, 0f + x.get(i));
        }
    }

    /** {@code a *= factor}, the factor rounded to F32 first as ND4J's scalar op on an F32 array does. */
    static void scale(INDArray a, double factor) {
        FloatBuffer x = view(a);
        float f = (float) factor;
        for (int i = 0, n = length(a); i < n; i++) {
            x.put(i, x.get(i) * f);
        }
    }

    /** {@code out[r, j] = x[r, j] + bias[j]} over rows of {@code bias.length()} elements. */
    static void biasAdd(INDArray x, INDArray bias, INDArray out) {
        FloatBuffer in = view(x);
        FloatBuffer b = view(bias);
        FloatBuffer y = view(out);
        int columns = length(bias);
        int n = length(out);
        for (int row = 0; row < n; row += columns) {
            for (int j = 0; j < columns; j++) {
                y.put(row + j, in.get(row + j) + b.get(j));
            }
        }
    }

    /** {@code max(x, 0)}; a NaN stays NaN, so the non-finite checks still see it. */
    static void relu(INDArray x, INDArray out) {
        FloatBuffer in = view(x);
        FloatBuffer y = view(out);
        for (int i = 0, n = length(out); i < n; i++) {
            float v = in.get(i);
            y.put(i, v < 0f ? 0f : v);
        }
    }

    /** {@code dy where x > 0, else 0}, as ND4J's RectifiedLinearDerivative. */
    static void reluGrad(INDArray dy, INDArray x, INDArray out) {
        FloatBuffer g = view(dy);
        FloatBuffer in = view(x);
        FloatBuffer y = view(out);
        for (int i = 0, n = length(out); i < n; i++) {
            y.put(i, in.get(i) > 0f ? g.get(i) : 0f);
        }
    }

    /** {@code out[j] = sum over rows of x[r, j]}, summed in double in {@code sums} (one per column) and rounded once. */
    static void columnSums(INDArray x, INDArray out, double[] sums) {
        FloatBuffer in = view(x);
        FloatBuffer y = view(out);
        int columns = sums.length;
        Arrays.fill(sums, 0);
        int n = length(x);
        for (int row = 0; row < n; row += columns) {
            for (int j = 0; j < columns; j++) {
                sums[j] += in.get(row + j);
            }
        }
        for (int j = 0; j < columns; j++) {
            y.put(j, (float) sums[j]);
        }
    }

    private static int length(INDArray a) {
        return Math.toIntExact(a.length());
    }
}
