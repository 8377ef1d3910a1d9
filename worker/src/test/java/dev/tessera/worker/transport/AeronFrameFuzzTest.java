package dev.tessera.worker.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.runtime.plan.Device;
import dev.tessera.runtime.transport.ElementType;
import dev.tessera.runtime.transport.TensorBuffer;
import dev.tessera.worker.transport.RejectedFrames.Reason;
import io.aeron.Aeron;
import io.aeron.ExclusivePublication;
import io.aeron.driver.MediaDriver;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Frames that are not what a sender of this job writes, published straight onto a transport's
 * stream by a raw Aeron publication (as process 0, over IPC): each is rejected and counted, none
 * changes a posted tensor, and the transport goes on delivering real messages intact.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AeronFrameFuzzTest {
    private static final Device CPU0 = new Device(0, "cpu:0");
    private static final Device CPU1 = new Device(1, "cpu:1");
    private static final long JOB = 42;

    private final Path root = AeronTestSupport.driverRoot();
    private MediaDriver driver;
    private AeronTransport zero;
    private AeronTransport one;
    private Aeron raw;
    private ExclusivePublication intoOne;
    private AeronSettings settings;

    @BeforeEach
    void start() {
        settings = AeronTestSupport.settings(root, Duration.ofSeconds(10));
        Path dir = root.resolve("shared-driver");
        driver = AeronTransport.launchSharedDriver(settings, dir);
        List<AeronPeer> peers = List.of(AeronPeer.ipc("process-0", 2000, List.of(CPU0)),
                AeronPeer.ipc("process-1", 2001, List.of(CPU1)));
        zero = AeronTransport.start(settings.withExternalDriver(dir), peers, 0);
        one = AeronTransport.start(settings.withExternalDriver(dir), peers, 1);
        raw = Aeron.connect(new Aeron.Context().aeronDirectoryName(dir.toString()));
        intoOne = raw.addExclusivePublication("aeron:ipc?term-length=1048576|mtu=" + settings.mtu(), 2001);
        await(intoOne::isConnected);
    }

    @AfterEach
    void stop() {
        raw.close();
        zero.close();
        one.close();
        driver.close();
        AeronTestSupport.deleteRoot(root);
    }

    @Test
    void shouldRejectAndCountEveryRandomFrameAndStillDeliverIntact() throws Exception {
        int chunk = settings.chunkBytes();
        int elements = (3 * chunk + 100) / 4;
        TensorBuffer into = TensorBuffer.allocate(ElementType.F32, elements);
        CompletableFuture<Void> receive = one.receive(CPU1, CPU0, 77, into);
        SplittableRandom random = new SplittableRandom(11);
        UnsafeBuffer frame = new UnsafeBuffer(new byte[settings.mtu()]);
        int frames = 3000;
        for (int i = 0; i < frames; i++) {
            int length = fuzz(random, frame, into.byteSize(), chunk);
            offer(frame, length);
        }
        await(() -> one.rejectedFrames().total() >= frames);
        assertEquals(frames, one.rejectedFrames().total(), () -> one.rejectedFrames().counts().toString());
        for (Reason r : List.of(Reason.MALFORMED, Reason.FOREIGN_JOB, Reason.MISROUTED, Reason.WRONG_LENGTH,
                Reason.OUT_OF_RANGE_CHUNK, Reason.UNEXPECTED)) {
            assertTrue(one.rejectedFrames().count(r) > 0, r + " never came up: " + one.rejectedFrames().counts());
        }
        assertFalse(receive.isDone(), "no fuzz frame completed the receive");
        for (int e = 0; e < elements; e++) {
            assertEquals(0f, into.getFloat(e), "element " + e + " was written by a fuzz frame");
        }

        TensorBuffer payload = TensorBuffer.allocate(ElementType.F32, elements);
        for (int e = 0; e < elements; e++) {
            payload.putFloat(e, e * 0.5f - 7);
        }
        zero.send(CPU0, CPU1, 77, payload).get(10, TimeUnit.SECONDS);
        receive.get(10, TimeUnit.SECONDS);
        assertEquals(-1, payload.region().mismatch(into.region()));
    }

    @Test
    void shouldRejectDuplicateAndOutOfOrderChunksAndFailATruncatedTensor() throws Exception {
        int chunk = settings.chunkBytes();
        int total = 2 * chunk + 40;
        TensorBuffer into = TensorBuffer.allocate(ElementType.I32, total / 4);
        CompletableFuture<Void> receive = one.receive(CPU1, CPU0, 5, into);
        UnsafeBuffer frame = new UnsafeBuffer(new byte[settings.mtu()]);
        offer(frame, chunk(frame, 5, 0, chunk, total, (byte) 1));
        offer(frame, chunk(frame, 5, 0, chunk, total, (byte) 9));
        offer(frame, chunk(frame, 5, 2, chunk, total, (byte) 9));
        offer(frame, chunk(frame, 5, 1, chunk, total, (byte) 2));
        offer(frame, chunk(frame, 5, 1, chunk, total, (byte) 9));
        offer(frame, chunk(frame, 5, 2, chunk, total, (byte) 3));
        receive.get(10, TimeUnit.SECONDS);
        for (int b = 0; b < total; b++) {
            assertEquals(b < chunk ? 1 : b < 2 * chunk ? 2 : 3, into.region().get(b), "byte " + b);
        }
        assertEquals(2, one.rejectedFrames().count(Reason.DUPLICATE_CHUNK));
        assertEquals(1, one.rejectedFrames().count(Reason.OUT_OF_RANGE_CHUNK));
        offer(frame, chunk(frame, 5, 2, chunk, total, (byte) 9));
        await(() -> one.rejectedFrames().count(Reason.UNEXPECTED) == 1);

        try (AeronTransport impatient = restartOne(Duration.ofMillis(300))) {
            TensorBuffer cut = TensorBuffer.allocate(ElementType.I32, total / 4);
            CompletableFuture<Void> truncated = impatient.receive(CPU1, CPU0, 6, cut);
            offer(frame, chunk(frame, 6, 0, chunk, total, (byte) 4));
            ExecutionException e = assertThrows(ExecutionException.class, () -> truncated.get(10, TimeUnit.SECONDS));
            assertTrue(e.getCause().getMessage().contains("stopped arriving after " + chunk + " of " + total + " bytes"),
                    e.getCause().getMessage());
            assertEquals(1, impatient.rejectedFrames().count(Reason.TRUNCATED_TENSOR));
        }
    }

    @Test
    void shouldSumEachChunkOfASummingReceiveOnceAndNeverARejectedFrame() throws Exception {
        int chunk = settings.chunkBytes();
        int total = 2 * chunk + 40;
        TensorBuffer base = TensorBuffer.allocate(ElementType.I32, total / 4);
        for (int e = 0; e < total / 4; e++) {
            base.putInt(e, 1000 + e);
        }
        TensorBuffer into = TensorBuffer.allocate(ElementType.I32, total / 4);
        CompletableFuture<Void> receive = one.receiveSum(CPU1, CPU0, 9, base, into);
        UnsafeBuffer frame = new UnsafeBuffer(new byte[settings.mtu()]);
        offer(frame, chunk(frame, 9, 0, chunk, total, (byte) 1));
        offer(frame, chunk(frame, 9, 0, chunk, total, (byte) 1));
        offer(frame, chunk(frame, 9, 2, chunk, total, (byte) 9));
        offer(frame, chunk(frame, 9, 1, chunk, total, (byte) 2));
        offer(frame, chunk(frame, 9, 1, chunk, total, (byte) 2));
        offer(frame, chunk(frame, 9, 2, chunk, total, (byte) 3));
        receive.get(10, TimeUnit.SECONDS);
        for (int e = 0; e < total / 4; e++) {
            int fill = e * 4 < chunk ? 0x01010101 : e * 4 < 2 * chunk ? 0x02020202 : 0x03030303;
            assertEquals(1000 + e + fill, into.getInt(e), "element " + e + " is base + its chunk, added once");
        }
        assertEquals(2, one.rejectedFrames().count(Reason.DUPLICATE_CHUNK));
        assertEquals(1, one.rejectedFrames().count(Reason.OUT_OF_RANGE_CHUNK));
        assertEquals(1000, base.getInt(0), "the base is only read");
    }

    private AeronTransport restartOne(Duration delivery) {
        one.close();
        Path dir = root.resolve("shared-driver");
        one = AeronTransport.start(AeronTestSupport.settings(root, delivery).withExternalDriver(dir),
                List.of(AeronPeer.ipc("process-0", 2000, List.of(CPU0)), AeronPeer.ipc("process-1", 2001, List.of(CPU1))), 1);
        await(intoOne::isConnected);
        return one;
    }

    /** A valid chunk of message {@code id} from cpu:0 to cpu:1, its payload all {@code fill}. */
    private static int chunk(UnsafeBuffer frame, long id, int index, int chunk, int total, byte fill) {
        int length = Math.min(chunk, total - index * chunk);
        TensorFrameHeaders.write(frame, 0, TensorFrameHeaders.CHUNK, JOB, 1, 0, 1, id, index, (long) index * chunk, length,
                chunk, total, 3, 0);
        frame.setMemory(TensorFrameHeaders.LENGTH, length, fill);
        return TensorFrameHeaders.LENGTH + length;
    }

    /**
     * One frame that must be rejected: random bytes, or a chunk of the posted message 77 (or of
     * message 78, never posted) with at least one field made wrong.
     */
    private static int fuzz(SplittableRandom random, UnsafeBuffer frame, int total, int chunk) {
        int kind = random.nextInt(10);
        if (kind == 0) {
            int length = random.nextInt(1, frame.capacity() - 32);
            for (int b = 0; b < length; b++) {
                frame.putByte(b, (byte) random.nextInt(256));
            }
            return length;
        }
        int index = random.nextInt(4);
        int length = Math.min(chunk, total - Math.min(index, 3) * chunk);
        long id = 77;
        long job = JOB;
        int plan = 1;
        int source = 0;
        int destination = 1;
        int sender = 0;
        long offset = (long) index * chunk;
        int byteLength = Math.max(0, length);
        int chunkBytes = chunk;
        long totalLength = total;
        int type = 1;
        int frameKind = TensorFrameHeaders.CHUNK;
        int payload = byteLength;
        switch (kind) {
            case 1 -> job = random.nextLong() | 1 << 7;
            case 2 -> plan = random.nextInt(2, 1000);
            case 3 -> id = 78;
            case 4 -> byteLength += random.nextInt(1, 100);
            case 5 -> totalLength += random.nextInt(1, 1000);
            case 6 -> offset += random.nextInt(1, 1000);
            case 7 -> index = random.nextInt(1, 1 << 20);
            case 8 -> {
                source = random.nextInt(1, 50);
                destination = random.nextInt(2, 50);
            }
            default -> sender = random.nextInt(2, 1000);
        }
        if (index == 0 && kind != 1 && kind != 2 && kind != 3 && kind != 4 && kind != 5 && kind != 6 && kind != 8
                && sender < 2) {
            index = 1;
        }
        payload = Math.min(payload, frame.capacity() - 32 - TensorFrameHeaders.LENGTH);
        TensorFrameHeaders.write(frame, 0, frameKind, job, plan, source, destination, id, index, offset, byteLength,
                chunkBytes, totalLength, type, sender);
        frame.setMemory(TensorFrameHeaders.LENGTH, payload, (byte) 0x5A);
        return TensorFrameHeaders.LENGTH + payload;
    }

    private void offer(UnsafeBuffer frame, int length) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (intoOne.offer(frame, 0, length) < 0) {
            assertTrue(System.nanoTime() < deadline, "the raw publication stayed back-pressured");
            Thread.onSpinWait();
        }
    }

    private static void await(BooleanSupplier condition) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "condition not met within 10 s");
            Thread.yield();
        }
    }
}
