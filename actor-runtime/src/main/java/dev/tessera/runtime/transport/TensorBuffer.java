package dev.tessera.runtime.transport;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A typed view of an off-heap byte region: the payload of a tensor message. Row-major elements
 * of {@link #type()}, {@link #shape()} giving their logical arrangement, stored in native byte
 * order from byte 0 of {@link #region()} (which never has its position or limit moved by this
 * class: all access is absolute, so one buffer may be read by several threads).
 *
 * <p>Ownership: whoever allocates a buffer owns it; a transport only reads a payload until the
 * send's future completes and only writes a receive buffer until the receive's future completes.
 * Views made with {@link #slice} share the owner's memory and are made once, at set-up, so the
 * hot path allocates nothing.
 */
public final class TensorBuffer {
    private final ElementType type;
    private final int[] shape;
    private final int elements;
    private final ByteBuffer region;

    private TensorBuffer(ElementType type, int[] shape, ByteBuffer region) {
        this.type = type;
        this.shape = shape.clone();
        long n = 1;
        for (int d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("tensor buffer shape " + Arrays.toString(shape) + " has a negative size");
            }
            n *= d;
        }
        this.elements = Math.toIntExact(n);
        if (region.capacity() != (long) elements * type.bytes()) {
            throw new IllegalArgumentException("a region of " + region.capacity() + " bytes does not hold " + type + " "
                    + Arrays.toString(shape) + " (" + (long) elements * type.bytes() + " bytes)");
        }
        this.region = region.order(ByteOrder.nativeOrder());
    }

    /** A zeroed direct buffer of {@code shape}. */
    public static TensorBuffer allocate(ElementType type, int... shape) {
        long bytes = (long) type.bytes();
        for (int d : shape) {
            bytes *= d;
        }
        return new TensorBuffer(type, shape, ByteBuffer.allocateDirect(Math.toIntExact(Math.max(0, bytes))));
    }

    /**
     * Wraps an existing region (for example a compute library's off-heap data) without copying.
     *
     * @throws IllegalArgumentException when the region's capacity is not exactly the shape's bytes
     */
    public static TensorBuffer wrap(ElementType type, ByteBuffer region, int... shape) {
        return new TensorBuffer(type, shape, region.duplicate().clear().slice());
    }

    public ElementType type() {
        return type;
    }

    public int[] shape() {
        return shape.clone();
    }

    /** Number of elements. */
    public int elements() {
        return elements;
    }

    /** Number of bytes of the payload. */
    public int byteSize() {
        return elements * type.bytes();
    }

    /** The whole byte region; callers use absolute access only. */
    public ByteBuffer region() {
        return region;
    }

    /** A one-dimensional view of {@code count} elements from element {@code start}, sharing this buffer's memory. */
    public TensorBuffer slice(int start, int count) {
        if (start < 0 || count < 0 || start + count > elements) {
            throw new IndexOutOfBoundsException("elements " + start + ".." + (start + count) + " of a " + type + " "
                    + Arrays.toString(shape) + " buffer of " + elements);
        }
        ByteBuffer view = region.duplicate().position(start * type.bytes()).limit((start + count) * type.bytes()).slice();
        return new TensorBuffer(type, new int[] {count}, view);
    }

    public float getFloat(int index) {
        return region.getFloat(index * 4);
    }

    public void putFloat(int index, float value) {
        region.putFloat(index * 4, value);
    }

    public double getDouble(int index) {
        return region.getDouble(index * 8);
    }

    public void putDouble(int index, double value) {
        region.putDouble(index * 8, value);
    }

    public int getInt(int index) {
        return region.getInt(index * 4);
    }

    public void putInt(int index, int value) {
        region.putInt(index * 4, value);
    }

    /** Copies all bytes of {@code source} into this buffer; both must have the same type and element count. */
    public void copyFrom(TensorBuffer source) {
        if (source.type != type || source.elements != elements) {
            throw new IllegalArgumentException("cannot copy a " + source.describe() + " buffer into a " + describe() + " one");
        }
        region.duplicate().clear().put(source.region.duplicate().clear());
    }

    /** Short form for errors, e.g. {@code F32[3, 5]}. */
    public String describe() {
        return type + Arrays.toString(shape);
    }

    @Override
    public String toString() {
        return describe();
    }
}
