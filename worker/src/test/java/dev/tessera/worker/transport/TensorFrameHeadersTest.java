package dev.tessera.worker.transport;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.proto.transport.FrameKind;
import dev.tessera.proto.transport.TensorFrameHeader;
import dev.tessera.proto.transport.WireElementType;
import java.util.concurrent.TimeUnit;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The in-place header is the Protobuf message TensorFrameHeader, byte for byte. */
@Timeout(value = 10, unit = TimeUnit.SECONDS)
class TensorFrameHeadersTest {
    private static final TensorFrameHeader EXAMPLE = TensorFrameHeader.newBuilder().setKind(FrameKind.CHUNK).setJobId(42)
            .setPlanVersion(1).setSourceDevice(3).setDestinationDevice(5).setMessageId(0x0003_0000_0000_0007L)
            .setChunkIndex(2).setOffset(16128).setByteLength(3872).setChunkBytes(8064).setTotalLength(20000)
            .setElementType(WireElementType.F32).setSenderProcess(1).build();

    @Test
    void shouldWriteWhatProtobufWritesWhenNoFieldIsZero() {
        UnsafeBuffer b = new UnsafeBuffer(new byte[TensorFrameHeaders.LENGTH]);
        TensorFrameHeaders.write(b, 0, TensorFrameHeaders.CHUNK, 42, 1, 3, 5, 0x0003_0000_0000_0007L, 2, 16128, 3872, 8064,
                20000, 1, 1);
        assertArrayEquals(EXAMPLE.toByteArray(), b.byteArray());
    }

    @Test
    void shouldBeReadByProtobufWithZeroFieldsWrittenToo() throws Exception {
        UnsafeBuffer b = new UnsafeBuffer(new byte[TensorFrameHeaders.LENGTH]);
        TensorFrameHeaders.write(b, 0, TensorFrameHeaders.HEARTBEAT, 42, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2);
        TensorFrameHeader parsed = TensorFrameHeader.parseFrom(b.byteArray());
        assertEquals(FrameKind.HEARTBEAT, parsed.getKind());
        assertEquals(42, parsed.getJobId());
        assertEquals(2, parsed.getSenderProcess());
        assertTrue(TensorFrameHeaders.hasLayout(b, 0, TensorFrameHeaders.LENGTH));
    }

    @Test
    void shouldRefuseAShortOrReorderedHeader() {
        UnsafeBuffer b = new UnsafeBuffer(EXAMPLE.toByteArray());
        assertTrue(TensorFrameHeaders.hasLayout(b, 0, TensorFrameHeaders.LENGTH));
        assertFalse(TensorFrameHeaders.hasLayout(b, 0, TensorFrameHeaders.LENGTH - 1));
        b.putByte(TensorFrameHeaders.JOB_ID - 1, (byte) 0x12);
        assertFalse(TensorFrameHeaders.hasLayout(b, 0, TensorFrameHeaders.LENGTH));
    }
}
