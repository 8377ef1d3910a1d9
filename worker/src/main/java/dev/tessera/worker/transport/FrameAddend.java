package dev.tessera.worker.transport;

import dev.tessera.runtime.transport.ElementSums;
import org.agrona.DirectBuffer;
import org.agrona.UnsafeApi;

/**
 * The payload of the frame being polled, as the addend of a sum: elements are copied into the
 * sum's heap block straight from where the frame lies (Aeron's term buffer), so a summed chunk is
 * never first copied into a receive buffer of its own. A flyweight: the transport thread wraps its
 * one instance around each chunk it sums; valid only during that fragment's handler.
 *
 * <p>The payload starts 75 bytes (a {@code TensorFrameHeader}) after a 32-byte aligned frame
 * header, so its elements are not aligned; a memory copy does not mind, where typed views of the
 * term buffer would need one view per alignment.
 */
final class FrameAddend implements ElementSums.Addend {
    private static final long FLOATS = UnsafeApi.arrayBaseOffset(float[].class);
    private static final long DOUBLES = UnsafeApi.arrayBaseOffset(double[].class);
    private static final long INTS = UnsafeApi.arrayBaseOffset(int[].class);

    private DirectBuffer buffer;
    private int index;
    private int bytes;

    /** Points at {@code bytes} bytes of payload from {@code index} of {@code buffer}. */
    FrameAddend wrap(DirectBuffer buffer, int index, int bytes) {
        buffer.boundsCheck(index, bytes);
        this.buffer = buffer;
        this.index = index;
        this.bytes = bytes;
        return this;
    }

    @Override
    public void floats(int element, float[] block, int count) {
        copy(element, 4, block, block.length, FLOATS, count);
    }

    @Override
    public void doubles(int element, double[] block, int count) {
        copy(element, 8, block, block.length, DOUBLES, count);
    }

    @Override
    public void ints(int element, int[] block, int count) {
        copy(element, 4, block, block.length, INTS, count);
    }

    /** Both ranges are checked here, since the copy itself checks nothing. */
    private void copy(int element, int elementBytes, Object block, int blockLength, long blockBase, int count) {
        long from = (long) element * elementBytes;
        long length = (long) count * elementBytes;
        if (element < 0 || count < 0 || count > blockLength || from + length > bytes) {
            throw new IndexOutOfBoundsException("elements " + element + ".." + (element + count) + " of a frame payload of "
                    + bytes + " bytes into a block of " + blockLength);
        }
        UnsafeApi.copyMemory(buffer.byteArray(), buffer.addressOffset() + index + from, block, blockBase, length);
    }
}
