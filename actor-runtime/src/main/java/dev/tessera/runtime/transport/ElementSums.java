package dev.tessera.runtime.transport;

import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;

/**
 * Element-wise sums {@code target = base + addend} over runs of elements of one type, through two
 * small heap blocks: bulk copies in, a plain loop over arrays (which the JIT vectorizes), a bulk
 * copy out. Reading and writing direct buffers element by element costs about three times as
 * much here; the bits are the same (one rounding per addition, base on the left). A collective
 * member sums with it, and so does a transport that sums a received message into its target
 * ({@link Transport#receiveSum}), so both give the same bits.
 *
 * <p>One instance per thread: it holds its blocks and allocates nothing after construction.
 */
public final class ElementSums {
    /** Elements per block: two blocks of 64 KiB of F32 stay in the core's cache. */
    public static final int BLOCK_ELEMENTS = 16 * 1024;

    /**
     * Where an addend's elements come from: bulk copies of {@code count} elements from element
     * {@code element} into a block. {@link Views} reads a {@link TensorBuffer}; a network
     * transport reads a chunk where its receive log holds it, so the chunk is never copied into a
     * buffer of its own first.
     */
    public interface Addend {
        void floats(int element, float[] block, int count);

        void doubles(int element, double[] block, int count);

        void ints(int element, int[] block, int count);
    }

    /** Views of one buffer that sums read and write; made at set-up, since making them allocates. */
    public static final class Views implements Addend {
        private final TensorBuffer buffer;
        private final FloatBuffer floats;
        private final DoubleBuffer doubles;
        private final IntBuffer ints;

        private Views(TensorBuffer buffer) {
            this.buffer = buffer;
            floats = buffer.type() == ElementType.F32 ? buffer.region().asFloatBuffer() : null;
            doubles = buffer.type() == ElementType.F64 ? buffer.region().asDoubleBuffer() : null;
            ints = buffer.type() == ElementType.I32 ? buffer.region().asIntBuffer() : null;
        }

        /** The views of {@code buffer}, or null for null. */
        public static Views of(TensorBuffer buffer) {
            return buffer == null ? null : new Views(buffer);
        }

        public TensorBuffer buffer() {
            return buffer;
        }

        @Override
        public void floats(int element, float[] block, int count) {
            floats.get(element, block, 0, count);
        }

        @Override
        public void doubles(int element, double[] block, int count) {
            doubles.get(element, block, 0, count);
        }

        @Override
        public void ints(int element, int[] block, int count) {
            ints.get(element, block, 0, count);
        }
    }

    private final ElementType type;
    private final float[] floatsA;
    private final float[] floatsB;
    private final double[] doublesA;
    private final double[] doublesB;
    private final int[] intsA;
    private final int[] intsB;

    /**
     * Sums of {@code type}, with blocks of {@code largestRun} elements, at most {@link #BLOCK_ELEMENTS}
     * (a member whose sums are small keeps small blocks).
     */
    public ElementSums(ElementType type, int largestRun) {
        this.type = type;
        int block = Math.max(1, Math.min(BLOCK_ELEMENTS, largestRun));
        floatsA = type == ElementType.F32 ? new float[block] : null;
        floatsB = type == ElementType.F32 ? new float[block] : null;
        doublesA = type == ElementType.F64 ? new double[block] : null;
        doublesB = type == ElementType.F64 ? new double[block] : null;
        intsA = type == ElementType.I32 ? new int[block] : null;
        intsB = type == ElementType.I32 ? new int[block] : null;
    }

    public ElementType type() {
        return type;
    }

    /**
     * Elements {@code t .. t+n} of target become elements {@code b .. b+n} of base plus elements
     * {@code a .. a+n} of the addend. Target may be base (an add), element for element.
     *
     * @throws IllegalArgumentException when target is not of this instance's type
     * @throws IndexOutOfBoundsException when a range lies outside its buffer
     */
    public void sum(Views base, int b, Addend addend, int a, Views target, int t, int n) {
        if (target.buffer.type() != type) {
            throw new IllegalArgumentException("sums of " + type + " cannot write a " + target.buffer.describe() + " buffer");
        }
        if (type == ElementType.F32) {
            for (int done = 0; done < n; done += floatsA.length) {
                int m = Math.min(floatsA.length, n - done);
                base.floats.get(b + done, floatsA, 0, m);
                addend.floats(a + done, floatsB, m);
                for (int i = 0; i < m; i++) {
                    floatsA[i] += floatsB[i];
                }
                target.floats.put(t + done, floatsA, 0, m);
            }
        } else if (type == ElementType.F64) {
            for (int done = 0; done < n; done += doublesA.length) {
                int m = Math.min(doublesA.length, n - done);
                base.doubles.get(b + done, doublesA, 0, m);
                addend.doubles(a + done, doublesB, m);
                for (int i = 0; i < m; i++) {
                    doublesA[i] += doublesB[i];
                }
                target.doubles.put(t + done, doublesA, 0, m);
            }
        } else {
            for (int done = 0; done < n; done += intsA.length) {
                int m = Math.min(intsA.length, n - done);
                base.ints.get(b + done, intsA, 0, m);
                addend.ints(a + done, intsB, m);
                for (int i = 0; i < m; i++) {
                    intsA[i] += intsB[i];
                }
                target.ints.put(t + done, intsA, 0, m);
            }
        }
    }
}
