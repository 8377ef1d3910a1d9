package dev.tessera.worker.kernel;

import java.nio.FloatBuffer;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Element-wise F32 kernels as Java loops on the Vector API, over heap blocks that each loop
 * copies from and to the raw buffers a block at a time (reading the direct buffers element by
 * element ran at 1 to 12 ns per element, depending on whether the JIT inlined the buffers'
 * checks). On the 2-core build machine (1 ND4J thread) ND4J's native pairwise and scalar ops took
 * 8 to 12 ns per element at the sizes of the example models (an in-place add of 784 x 256
 * floats: 2.5 ms).
 * Each loop computes exactly what the ND4J op computes in F32 (one rounding per float operation),
 * so results do not change (except {@link #columnSums}, which sums in double and so is more exact
 * than the F32 gemm it replaces). Callers use them when {@link #applies} holds and keep the ND4J op for
 * F64 and strided views. {@link #add}, {@link #biasAdd} and {@link #columnSums} (by columns) cut a
 * large tensor into parts for the kernel thread budget ({@link KernelThreads}), which changes no
 * result.
 */
final class FloatLoops {
    private static final VectorSpecies<Float> SPECIES = FloatVectors.SPECIES;
    private static final int LANES = FloatVectors.LANES;

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
        KernelThreads.inParts(length(out), 1, (from, to) -> add(x, y, z, from, to));
    }

    private static void add(FloatBuffer x, FloatBuffer y, FloatBuffer z, int from, int to) {
        Scratch blocks = Scratch.get(FloatVectors.BLOCK);
        for (int start = from, n = to; start < n; start += FloatVectors.BLOCK) {
            int length = Math.min(FloatVectors.BLOCK, n - start);
            x.get(start, blocks.first, 0, length);
            y.get(start, blocks.second, 0, length);
            int i = 0;
            for (int end = SPECIES.loopBound(length); i < end; i += LANES) {
                FloatVector.fromArray(SPECIES, blocks.first, i).add(FloatVector.fromArray(SPECIES, blocks.second, i))
                        .intoArray(blocks.result, i);
            }
            for (; i < length; i++) {
                blocks.result[i] = blocks.first[i] + blocks.second[i];
            }
            z.put(start, blocks.result, 0, length);
        }
    }

    /** {@code out = 0 + a}: a copy, except that a negative zero becomes a positive one, as adding into zeros gives. */
    static void addToZero(INDArray a, INDArray out) {
        FloatBuffer x = view(a);
        FloatBuffer z = view(out);
        Scratch blocks = Scratch.get(FloatVectors.BLOCK);
        for (int start = 0, n = length(out); start < n; start += FloatVectors.BLOCK) {
            int length = Math.min(FloatVectors.BLOCK, n - start);
            x.get(start, blocks.first, 0, length);
            int i = 0;
            for (int end = SPECIES.loopBound(length); i < end; i += LANES) {
                FloatVector.fromArray(SPECIES, blocks.first, i).add(0f).intoArray(blocks.result, i);
            }
            for (; i < length; i++) {
                blocks.result[i] = 0f + blocks.first[i];
            }
            z.put(start, blocks.result, 0, length);
        }
    }

    /** {@code a *= factor}, the factor rounded to F32 first as ND4J's scalar op on an F32 array does. */
    static void scale(INDArray a, double factor) {
        FloatBuffer x = view(a);
        float f = (float) factor;
        Scratch blocks = Scratch.get(FloatVectors.BLOCK);
        for (int start = 0, n = length(a); start < n; start += FloatVectors.BLOCK) {
            int length = Math.min(FloatVectors.BLOCK, n - start);
            x.get(start, blocks.first, 0, length);
            int i = 0;
            for (int end = SPECIES.loopBound(length); i < end; i += LANES) {
                FloatVector.fromArray(SPECIES, blocks.first, i).mul(f).intoArray(blocks.result, i);
            }
            for (; i < length; i++) {
                blocks.result[i] = blocks.first[i] * f;
            }
            x.put(start, blocks.result, 0, length);
        }
    }

    /** {@code out[r, j] = x[r, j] + bias[j]} over rows of {@code bias.length()} elements, a block of whole rows at a time. */
    static void biasAdd(INDArray x, INDArray bias, INDArray out) {
        FloatBuffer in = view(x);
        FloatBuffer y = view(out);
        FloatBuffer biases = view(bias);
        int columns = length(bias);
        KernelThreads.inParts(length(out), columns, (from, to) -> biasAdd(in, biases, y, columns, from, to));
    }

    private static void biasAdd(FloatBuffer in, FloatBuffer bias, FloatBuffer y, int columns, int from, int to) {
        int rowsPerBlock = Math.max(1, FloatVectors.BLOCK / columns);
        Scratch blocks = Scratch.get(rowsPerBlock * columns);
        float[] b = blocks.second;
        bias.get(0, b, 0, columns);
        int vectors = SPECIES.loopBound(columns);
        for (int start = from, n = to; start < n; start += rowsPerBlock * columns) {
            int length = Math.min(rowsPerBlock * columns, n - start);
            in.get(start, blocks.first, 0, length);
            for (int row = 0; row < length; row += columns) {
                int j = 0;
                for (; j < vectors; j += LANES) {
                    FloatVector.fromArray(SPECIES, blocks.first, row + j).add(FloatVector.fromArray(SPECIES, b, j))
                            .intoArray(blocks.result, row + j);
                }
                for (; j < columns; j++) {
                    blocks.result[row + j] = blocks.first[row + j] + b[j];
                }
            }
            y.put(start, blocks.result, 0, length);
        }
    }

    /** {@code max(x, 0)}; a NaN stays NaN, so the non-finite checks still see it, and -0 stays -0. */
    static void relu(INDArray x, INDArray out) {
        FloatBuffer in = view(x);
        FloatBuffer y = view(out);
        Scratch blocks = Scratch.get(FloatVectors.BLOCK);
        for (int start = 0, n = length(out); start < n; start += FloatVectors.BLOCK) {
            int length = Math.min(FloatVectors.BLOCK, n - start);
            in.get(start, blocks.first, 0, length);
            int i = 0;
            for (int end = SPECIES.loopBound(length); i < end; i += LANES) {
                FloatVector v = FloatVector.fromArray(SPECIES, blocks.first, i);
                v.blend(0f, v.lt(0f)).intoArray(blocks.result, i);
            }
            for (; i < length; i++) {
                float v = blocks.first[i];
                blocks.result[i] = v < 0f ? 0f : v;
            }
            y.put(start, blocks.result, 0, length);
        }
    }

    /** {@code dy where x > 0, else 0}, as ND4J's RectifiedLinearDerivative. */
    static void reluGrad(INDArray dy, INDArray x, INDArray out) {
        FloatBuffer g = view(dy);
        FloatBuffer in = view(x);
        FloatBuffer y = view(out);
        Scratch blocks = Scratch.get(FloatVectors.BLOCK);
        FloatVector zero = FloatVector.zero(SPECIES);
        for (int start = 0, n = length(out); start < n; start += FloatVectors.BLOCK) {
            int length = Math.min(FloatVectors.BLOCK, n - start);
            g.get(start, blocks.first, 0, length);
            in.get(start, blocks.second, 0, length);
            int i = 0;
            for (int end = SPECIES.loopBound(length); i < end; i += LANES) {
                VectorMask<Float> positive = FloatVector.fromArray(SPECIES, blocks.second, i).compare(VectorOperators.GT, 0f);
                zero.blend(FloatVector.fromArray(SPECIES, blocks.first, i), positive).intoArray(blocks.result, i);
            }
            for (; i < length; i++) {
                blocks.result[i] = blocks.second[i] > 0f ? blocks.first[i] : 0f;
            }
            y.put(start, blocks.result, 0, length);
        }
    }

    /** {@code out[j] = sum over rows of x[r, j]}, summed in double in {@code sums} (one per column) and rounded once. */
    static void columnSums(INDArray x, INDArray out, double[] sums) {
        FloatBuffer in = view(x);
        FloatBuffer y = view(out);
        int columns = sums.length;
        int rows = length(x) / Math.max(1, columns);
        // a part per range of columns, each summed over every row in the same order: the same sums
        int parts = Math.min(KernelThreads.parts(length(x), 1), columns / LANES);
        if (parts > 1) {
            KernelThreads.run(parts, part -> columnRange(in, y, sums, rows, KernelThreads.start(part, parts, columns, LANES),
                    part + 1 == parts ? columns : KernelThreads.start(part + 1, parts, columns, LANES)));
            return;
        }
        Arrays.fill(sums, 0);
        int rowsPerBlock = Math.max(1, FloatVectors.BLOCK / columns);
        Scratch blocks = Scratch.get(rowsPerBlock * columns);
        float[] block = blocks.first;
        for (int start = 0, n = length(x); start < n; start += rowsPerBlock * columns) {
            int length = Math.min(rowsPerBlock * columns, n - start);
            in.get(start, block, 0, length);
            for (int row = 0; row < length; row += columns) {
                for (int j = 0; j < columns; j++) {
                    sums[j] += block[row + j];
                }
            }
        }
        for (int j = 0; j < columns; j++) {
            y.put(j, (float) sums[j]);
        }
    }

    /** {@link #columnSums} of columns {@code from} to {@code to} (exclusive): a block of rows' pieces at a time. */
    private static void columnRange(FloatBuffer in, FloatBuffer y, double[] sums, int rows, int from, int to) {
        int columns = sums.length;
        int width = to - from;
        Arrays.fill(sums, from, to, 0);
        int rowsPerBlock = Math.max(1, FloatVectors.BLOCK / width);
        float[] block = Scratch.get(rowsPerBlock * width).first;
        for (int first = 0; first < rows; first += rowsPerBlock) {
            int count = Math.min(rowsPerBlock, rows - first);
            for (int r = 0; r < count; r++) {
                in.get((first + r) * columns + from, block, r * width, width);
            }
            for (int piece = 0; piece < count * width; piece += width) {
                for (int j = 0; j < width; j++) {
                    sums[from + j] += block[piece + j];
                }
            }
        }
        for (int j = from; j < to; j++) {
            y.put(j, (float) sums[j]);
        }
    }

    /**
     * Each device thread's heap blocks for the loops' bulk copies (a kernel runs on one thread
     * at a time, and one loop at a time on a thread), grown when a loop needs longer ones.
     */
    private static final class Scratch {
        private static final ThreadLocal<Scratch> OF_THREAD = ThreadLocal.withInitial(() -> new Scratch(FloatVectors.BLOCK));

        final float[] first;
        final float[] second;
        final float[] result;

        private Scratch(int length) {
            first = new float[length];
            second = new float[length];
            result = new float[length];
        }

        static Scratch get(int length) {
            Scratch scratch = OF_THREAD.get();
            if (scratch.first.length < length) {
                scratch = new Scratch(length);
                OF_THREAD.set(scratch);
            }
            return scratch;
        }
    }

    private static int length(INDArray a) {
        return Math.toIntExact(a.length());
    }
}
