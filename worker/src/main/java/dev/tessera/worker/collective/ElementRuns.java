package dev.tessera.worker.collective;

import dev.tessera.sbp.Region;
import java.util.Arrays;

/**
 * Where a piece of a tensor lies in a member's row-major buffer: runs of consecutive elements,
 * in order. The piece's elements, read run by run, are its packed form, which is what goes on
 * the wire. Built at set-up; the hot path only reads it.
 */
public final class ElementRuns {
    private final int[] starts;
    private final int[] lengths;
    private final int elements;

    private ElementRuns(int[] starts, int[] lengths) {
        this.starts = starts;
        this.lengths = lengths;
        this.elements = Arrays.stream(lengths).sum();
    }

    /** The {@code length} elements from {@code start}. */
    public static ElementRuns range(long start, long length) {
        return length == 0 ? new ElementRuns(new int[0], new int[0])
                : new ElementRuns(new int[] {Math.toIntExact(start)}, new int[] {Math.toIntExact(length)});
    }

    /** Region {@code piece} of a tensor, in the buffer that holds region {@code within} of it. */
    public static ElementRuns of(Region piece, Region within) {
        int rank = piece.rank();
        if (piece.elements() == 0) {
            return range(0, 0);
        }
        if (rank == 0) {
            return range(0, 1);
        }
        int[] dims = within.shape().toArray();
        int[] offsets = new int[rank];
        for (int a = 0; a < rank; a++) {
            offsets[a] = piece.offset(a) - within.offset(a);
        }
        int run = piece.size(rank - 1);
        int count = Math.toIntExact(piece.elements() / run);
        int[] starts = new int[count];
        int[] lengths = new int[count];
        int[] index = new int[rank];
        int used = 0;
        for (int r = 0; r < count; r++) {
            long start = 0;
            for (int a = 0; a < rank; a++) {
                start = start * dims[a] + offsets[a] + index[a];
            }
            if (used > 0 && starts[used - 1] + lengths[used - 1] == start) {
                lengths[used - 1] += run;
            } else {
                starts[used] = Math.toIntExact(start);
                lengths[used] = run;
                used++;
            }
            for (int a = rank - 2; a >= 0 && ++index[a] == piece.size(a); a--) {
                index[a] = 0;
            }
        }
        return new ElementRuns(Arrays.copyOf(starts, used), Arrays.copyOf(lengths, used));
    }

    /** Number of elements. */
    public int elements() {
        return elements;
    }

    int runs() {
        return starts.length;
    }

    int start(int run) {
        return starts[run];
    }

    int length(int run) {
        return lengths[run];
    }

    /** Whether the piece is one run (so a buffer view can be sent without packing). */
    public boolean contiguous() {
        return starts.length <= 1;
    }

    /** First element of a contiguous piece (0 when empty). */
    public int first() {
        return starts.length == 0 ? 0 : starts[0];
    }

    /** Packed elements {@code from .. from+count} of this piece, as runs of the same buffer. */
    public ElementRuns slice(int from, int count) {
        int[] s = new int[starts.length];
        int[] l = new int[starts.length];
        int used = 0;
        int packed = 0;
        for (int r = 0; r < starts.length && count > 0; r++) {
            int end = packed + lengths[r];
            if (end > from) {
                int skip = Math.max(0, from - packed);
                int take = Math.min(lengths[r] - skip, count);
                s[used] = starts[r] + skip;
                l[used] = take;
                used++;
                count -= take;
                from += take;
            }
            packed = end;
        }
        return new ElementRuns(Arrays.copyOf(s, used), Arrays.copyOf(l, used));
    }

    /** This piece cut into consecutive chunks of at most {@code chunkElements} elements; none when empty. */
    public ElementRuns[] chunks(int chunkElements) {
        int n = (elements + chunkElements - 1) / chunkElements;
        ElementRuns[] out = new ElementRuns[n];
        for (int c = 0; c < n; c++) {
            out[c] = slice(c * chunkElements, Math.min(chunkElements, elements - c * chunkElements));
        }
        return out;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("[");
        for (int r = 0; r < starts.length; r++) {
            sb.append(r == 0 ? "" : ", ").append(starts[r]).append('+').append(lengths[r]);
        }
        return sb.append(']').toString();
    }
}
