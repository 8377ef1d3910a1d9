package dev.tessera.worker.transport;

import dev.tessera.runtime.transport.ElementType;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * Writes and reads the fixed layout of {@code tessera.transport.TensorFrameHeader} in place: the
 * Protobuf encoding with every field present, in field order (tag byte, then a fixed32 / fixed64
 * little-endian value, or a one-byte enum), 75 bytes in all. A Protobuf parser reads what this
 * writes; this reads only that exact layout, so the hot path neither allocates nor parses.
 */
final class TensorFrameHeaders {
    static final int LENGTH = 75;

    static final int CHUNK = 1;
    static final int RECEIVE_POSTED = 2;
    static final int DELIVERED = 3;
    static final int REFUSED = 4;
    static final int HEARTBEAT = 5;
    static final int CANCELLED = 6;

    private static final int WIRE_FIXED64 = 1;
    private static final int WIRE_FIXED32 = 5;
    private static final int WIRE_VARINT = 0;

    // Offsets of each field's value (its tag byte is one before).
    static final int KIND = 1;
    static final int JOB_ID = 3;
    static final int PLAN_VERSION = 12;
    static final int SOURCE_DEVICE = 17;
    static final int DESTINATION_DEVICE = 22;
    static final int MESSAGE_ID = 27;
    static final int CHUNK_INDEX = 36;
    static final int OFFSET = 41;
    static final int BYTE_LENGTH = 50;
    static final int CHUNK_BYTES = 55;
    static final int TOTAL_LENGTH = 60;
    static final int ELEMENT_TYPE = 69;
    static final int SENDER_PROCESS = 71;

    private static final int[] VALUE_OFFSETS = {KIND, JOB_ID, PLAN_VERSION, SOURCE_DEVICE, DESTINATION_DEVICE, MESSAGE_ID,
        CHUNK_INDEX, OFFSET, BYTE_LENGTH, CHUNK_BYTES, TOTAL_LENGTH, ELEMENT_TYPE, SENDER_PROCESS};
    private static final int[] WIRE_TYPES = {WIRE_VARINT, WIRE_FIXED64, WIRE_FIXED32, WIRE_FIXED32, WIRE_FIXED32,
        WIRE_FIXED64, WIRE_FIXED32, WIRE_FIXED64, WIRE_FIXED32, WIRE_FIXED32, WIRE_FIXED64, WIRE_VARINT, WIRE_FIXED32};

    private TensorFrameHeaders() {
    }

    /** Writes the tag bytes of every field at {@code at}; values follow with the put methods. */
    static void writeTags(MutableDirectBuffer buffer, int at) {
        for (int f = 0; f < VALUE_OFFSETS.length; f++) {
            buffer.putByte(at + VALUE_OFFSETS[f] - 1, (byte) (((f + 1) << 3) | WIRE_TYPES[f]));
        }
    }

    /** Writes a whole header at {@code at}. */
    static void write(MutableDirectBuffer b, int at, int kind, long jobId, int planVersion, int source, int destination,
            long messageId, int chunkIndex, long offset, int byteLength, int chunkBytes, long totalLength, int elementType,
            int senderProcess) {
        writeTags(b, at);
        b.putByte(at + KIND, (byte) kind);
        b.putLong(at + JOB_ID, jobId, java.nio.ByteOrder.LITTLE_ENDIAN);
        b.putInt(at + PLAN_VERSION, planVersion, java.nio.ByteOrder.LITTLE_ENDIAN);
        b.putInt(at + SOURCE_DEVICE, source, java.nio.ByteOrder.LITTLE_ENDIAN);
        b.putInt(at + DESTINATION_DEVICE, destination, java.nio.ByteOrder.LITTLE_ENDIAN);
        b.putLong(at + MESSAGE_ID, messageId, java.nio.ByteOrder.LITTLE_ENDIAN);
        b.putInt(at + CHUNK_INDEX, chunkIndex, java.nio.ByteOrder.LITTLE_ENDIAN);
        b.putLong(at + OFFSET, offset, java.nio.ByteOrder.LITTLE_ENDIAN);
        b.putInt(at + BYTE_LENGTH, byteLength, java.nio.ByteOrder.LITTLE_ENDIAN);
        b.putInt(at + CHUNK_BYTES, chunkBytes, java.nio.ByteOrder.LITTLE_ENDIAN);
        b.putLong(at + TOTAL_LENGTH, totalLength, java.nio.ByteOrder.LITTLE_ENDIAN);
        b.putByte(at + ELEMENT_TYPE, (byte) elementType);
        b.putInt(at + SENDER_PROCESS, senderProcess, java.nio.ByteOrder.LITTLE_ENDIAN);
    }

    /** Whether {@code length} bytes at {@code at} start with exactly this layout's tags and a known kind. */
    static boolean hasLayout(DirectBuffer b, int at, int length) {
        if (length < LENGTH) {
            return false;
        }
        for (int f = 0; f < VALUE_OFFSETS.length; f++) {
            if (b.getByte(at + VALUE_OFFSETS[f] - 1) != (byte) (((f + 1) << 3) | WIRE_TYPES[f])) {
                return false;
            }
        }
        int kind = b.getByte(at + KIND);
        int type = b.getByte(at + ELEMENT_TYPE);
        return kind >= CHUNK && kind <= CANCELLED && type >= 0 && type <= 3;
    }

    static long getLong(DirectBuffer b, int at, int field) {
        return b.getLong(at + field, java.nio.ByteOrder.LITTLE_ENDIAN);
    }

    static int getInt(DirectBuffer b, int at, int field) {
        return b.getInt(at + field, java.nio.ByteOrder.LITTLE_ENDIAN);
    }

    static int getByte(DirectBuffer b, int at, int field) {
        return b.getByte(at + field);
    }

    /** The wire number of an element type (WireElementType). */
    static int wireType(ElementType type) {
        return switch (type) {
            case F32 -> 1;
            case F64 -> 2;
            case I32 -> 3;
        };
    }

    static String typeName(int wireType) {
        return switch (wireType) {
            case 1 -> "F32";
            case 2 -> "F64";
            case 3 -> "I32";
            default -> "unknown type " + wireType;
        };
    }

    static int elementBytes(int wireType) {
        return wireType == 2 ? 8 : 4;
    }
}
