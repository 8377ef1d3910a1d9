package dev.tessera.worker.collective;

import dev.tessera.runtime.transport.ElementType;
import dev.tessera.runtime.transport.TensorBuffer;

/**
 * Copies, sums and zeroes between pieces of {@link TensorBuffer}s, walking both pieces' runs in
 * step (their packed forms have the same length). Sums add in the element type,
 * {@code target = target + source} element by element: with the order a schedule gives, that is
 * the left fold {@code GroupParts} defines. Allocates nothing.
 */
final class BufferMath {
    private BufferMath() {
    }

    enum Kind {
        COPY, ADD
    }

    static void apply(Kind kind, TensorBuffer source, ElementRuns sourceRuns, TensorBuffer target, ElementRuns targetRuns) {
        int sr = 0;
        int tr = 0;
        int sOffset = 0;
        int tOffset = 0;
        int left = sourceRuns.elements();
        int bytes = source.type().bytes();
        while (left > 0) {
            int sLeft = sourceRuns.length(sr) - sOffset;
            int tLeft = targetRuns.length(tr) - tOffset;
            int n = Math.min(sLeft, tLeft);
            int s = sourceRuns.start(sr) + sOffset;
            int t = targetRuns.start(tr) + tOffset;
            if (kind == Kind.COPY) {
                target.region().put(t * bytes, source.region(), s * bytes, n * bytes);
            } else {
                add(source, s, target, t, n);
            }
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

    private static void add(TensorBuffer source, int s, TensorBuffer target, int t, int n) {
        ElementType type = target.type();
        if (type == ElementType.F32) {
            for (int i = 0; i < n; i++) {
                target.putFloat(t + i, target.getFloat(t + i) + source.getFloat(s + i));
            }
        } else if (type == ElementType.F64) {
            for (int i = 0; i < n; i++) {
                target.putDouble(t + i, target.getDouble(t + i) + source.getDouble(s + i));
            }
        } else {
            for (int i = 0; i < n; i++) {
                target.putInt(t + i, target.getInt(t + i) + source.getInt(s + i));
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
