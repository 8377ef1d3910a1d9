package dev.tessera.worker.collective;

import dev.tessera.runtime.transport.ElementType;
import dev.tessera.runtime.transport.TensorBuffer;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;

/**
 * Copies, sums and zeroes between pieces of {@link TensorBuffer}s, walking the pieces' runs in
 * step (their packed forms have the same length). Sums add in the element type,
 * {@code target = base + source} element by element (an add is the sum with base = target): with
 * the order a schedule gives, that is the left fold {@code GroupParts} defines.
 *
 * <p>F32 and F64 sums go through two small heap blocks: bulk copies in, a plain loop over arrays
 * (which the JIT vectorizes), a bulk copy out. On this machine that is about 0.5 ns per F32
 * element against 1.7 ns for element-wise reads and writes of the direct buffers; the bits are
 * the same (one rounding per addition either way). One instance per member, holding its blocks;
 * it allocates nothing after construction. Not thread-safe.
 */
final class BufferMath {
    /** Elements per block: two blocks of 64 KiB of F32 stay in the core's cache. */
    static final int BLOCK_ELEMENTS = 16 * 1024;

    private final float[] floatsA;
    private final float[] floatsB;
    private final double[] doublesA;
    private final double[] doublesB;

    BufferMath(ElementType type, int largestSum) {
        int block = Math.max(1, Math.min(BLOCK_ELEMENTS, largestSum));
        boolean f32 = type == ElementType.F32 && largestSum > 0;
        boolean f64 = type == ElementType.F64 && largestSum > 0;
        floatsA = f32 ? new float[block] : null;
        floatsB = f32 ? new float[block] : null;
        doublesA = f64 ? new double[block] : null;
        doublesB = f64 ? new double[block] : null;
    }

    /** Views of one buffer that the block sums read and write (made at set-up). */
    record Views(TensorBuffer buffer, FloatBuffer floats, DoubleBuffer doubles) {
        static Views of(TensorBuffer buffer) {
            if (buffer == null) {
                return null;
            }
            return new Views(buffer, buffer.type() == ElementType.F32 ? buffer.region().asFloatBuffer() : null,
                    buffer.type() == ElementType.F64 ? buffer.region().asDoubleBuffer() : null);
        }
    }

    static void copy(TensorBuffer source, ElementRuns sourceRuns, TensorBuffer target, ElementRuns targetRuns) {
        int sr = 0;
        int tr = 0;
        int sOffset = 0;
        int tOffset = 0;
        int left = sourceRuns.elements();
        int bytes = source.type().bytes();
        while (left > 0) {
            int n = Math.min(sourceRuns.length(sr) - sOffset, targetRuns.length(tr) - tOffset);
            int s = sourceRuns.start(sr) + sOffset;
            int t = targetRuns.start(tr) + tOffset;
            target.region().put(t * bytes, source.region(), s * bytes, n * bytes);
            left -= n;
            sOffset += n;
            tOffset += n;
            if (sOffset == sourceRuns.length(sr)) {
                sr++;
                sOffset = 0;
            }
            if (tOffset == targetRuns.length(tr)) {
                tr++;
                tOffset = 0;
            }
        }
    }

    /** {@code target += source}. */
    void add(Views source, ElementRuns sourceRuns, Views target, ElementRuns targetRuns) {
        sum(target, targetRuns, source, sourceRuns, target, targetRuns);
    }

    /** {@code target = base + source}; target may be base. */
    void sum(Views base, ElementRuns baseRuns, Views source, ElementRuns sourceRuns, Views target,
            ElementRuns targetRuns) {
        int br = 0;
        int sr = 0;
        int tr = 0;
        int bOffset = 0;
        int sOffset = 0;
        int tOffset = 0;
        int left = targetRuns.elements();
        while (left > 0) {
            int n = Math.min(baseRuns.length(br) - bOffset,
                    Math.min(sourceRuns.length(sr) - sOffset, targetRuns.length(tr) - tOffset));
            sumRun(base, baseRuns.start(br) + bOffset, source, sourceRuns.start(sr) + sOffset, target,
                    targetRuns.start(tr) + tOffset, n);
            left -= n;
            bOffset += n;
            sOffset += n;
            tOffset += n;
            if (bOffset == baseRuns.length(br)) {
                br++;
                bOffset = 0;
            }
            if (sOffset == sourceRuns.length(sr)) {
                sr++;
                sOffset = 0;
            }
            if (tOffset == targetRuns.length(tr)) {
                tr++;
                tOffset = 0;
            }
        }
    }

    private void sumRun(Views base, int b, Views source, int s, Views target, int t, int n) {
        ElementType type = target.buffer().type();
        if (type == ElementType.F32) {
            for (int done = 0; done < n; done += floatsA.length) {
                int m = Math.min(floatsA.length, n - done);
                base.floats().get(b + done, floatsA, 0, m);
                source.floats().get(s + done, floatsB, 0, m);
                for (int i = 0; i < m; i++) {
                    floatsA[i] += floatsB[i];
                }
                target.floats().put(t + done, floatsA, 0, m);
            }
        } else if (type == ElementType.F64) {
            for (int done = 0; done < n; done += doublesA.length) {
                int m = Math.min(doublesA.length, n - done);
                base.doubles().get(b + done, doublesA, 0, m);
                source.doubles().get(s + done, doublesB, 0, m);
                for (int i = 0; i < m; i++) {
                    doublesA[i] += doublesB[i];
                }
                target.doubles().put(t + done, doublesA, 0, m);
            }
        } else {
            TensorBuffer x = base.buffer();
            TensorBuffer y = source.buffer();
            TensorBuffer z = target.buffer();
            for (int i = 0; i < n; i++) {
                z.putInt(t + i, x.getInt(b + i) + y.getInt(s + i));
            }
        }
    }

    static void zero(TensorBuffer target, ElementRuns runs) {
        int bytes = target.type().bytes();
        for (int r = 0; r < runs.runs(); r++) {
            int from = runs.start(r) * bytes;
            int to = from + runs.length(r) * bytes;
            for (int b = from; b < to; b++) {
                target.region().put(b, (byte) 0);
            }
        }
    }
}
