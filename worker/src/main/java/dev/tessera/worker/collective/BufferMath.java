package dev.tessera.worker.collective;

import dev.tessera.runtime.transport.ElementSums;
import dev.tessera.runtime.transport.ElementSums.Views;
import dev.tessera.runtime.transport.ElementType;
import dev.tessera.runtime.transport.TensorBuffer;

/**
 * Copies, sums and zeroes between pieces of {@link TensorBuffer}s, walking the pieces' runs in
 * step (their packed forms have the same length). Sums add in the element type,
 * {@code target = base + source} element by element (an add is the sum with base = target): with
 * the order a schedule gives, that is the left fold {@code GroupParts} defines. Each run is summed
 * by {@link ElementSums}, the sums a transport's {@code receiveSum} uses too, so a chunk summed as
 * it arrives and one summed from a staging buffer give the same bits. One instance per member,
 * holding its blocks; it allocates nothing after construction. Not thread-safe.
 */
final class BufferMath {
    private final ElementSums sums;

    BufferMath(ElementType type, int largestSum) {
        sums = new ElementSums(type, largestSum);
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
            sums.sum(base, baseRuns.start(br) + bOffset, source, sourceRuns.start(sr) + sOffset, target,
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
