package dev.tessera.runtime.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.runtime.plan.Device;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The {@link Transport} contract, run against every implementation: devices cpu:0 and cpu:1
 * (cpu:2 is on none), each side reached through the transport that owns its device — one object
 * for {@link InProcessTransport}, one per process for a network transport.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
public abstract class TransportContractTest {
    protected static final Device CPU0 = new Device(0, "cpu:0");
    protected static final Device CPU1 = new Device(1, "cpu:1");
    protected static final Device CPU2 = new Device(2, "cpu:2");

    /** The transports that own cpu:0 and cpu:1; closing closes them all. */
    public interface Transports extends AutoCloseable {
        /** The transport that owns {@code device}. */
        Transport of(Device device);

        @Override
        void close();
    }

    /** Opens transports for cpu:0 and cpu:1 with this delivery time-out. */
    protected abstract Transports open(Duration deliveryTimeout) throws Exception;

    protected static TensorBuffer floats(float... values) {
        TensorBuffer b = TensorBuffer.allocate(ElementType.F32, values.length);
        for (int i = 0; i < values.length; i++) {
            b.putFloat(i, values[i]);
        }
        return b;
    }

    @Test
    void shouldDeliverWhicheverSideIsPostedFirst() throws Exception {
        try (Transports t = open(Duration.ofSeconds(10))) {
            TensorBuffer first = TensorBuffer.allocate(ElementType.F32, 3);
            CompletableFuture<Void> receive = t.of(CPU1).receive(CPU1, CPU0, 7, first);
            CompletableFuture<Void> send = t.of(CPU0).send(CPU0, CPU1, 7, floats(1, 2, 3));
            CompletableFuture.allOf(receive, send).get(5, TimeUnit.SECONDS);
            assertEquals(3f, first.getFloat(2));

            TensorBuffer second = TensorBuffer.allocate(ElementType.F32, 3);
            CompletableFuture<Void> sendFirst = t.of(CPU0).send(CPU0, CPU1, 8, floats(4, 5, 6));
            assertTrue(!sendFirst.isDone(), "a send completes only when its receive takes the payload");
            t.of(CPU1).receive(CPU1, CPU0, 8, second).get(5, TimeUnit.SECONDS);
            sendFirst.get(5, TimeUnit.SECONDS);
            assertEquals(4f, second.getFloat(0));
        }
    }

    @Test
    void shouldSumAReceivedMessageIntoItsTargetAsBasePlusMessage() throws Exception {
        try (Transports t = open(Duration.ofSeconds(10))) {
            TensorBuffer base = floats(0.1f, -2, 1e-8f);
            TensorBuffer into = TensorBuffer.allocate(ElementType.F32, 3);
            CompletableFuture<Void> receive = t.of(CPU1).receiveSum(CPU1, CPU0, 11, base, into);
            t.of(CPU0).send(CPU0, CPU1, 11, floats(0.2f, 5, 1)).get(5, TimeUnit.SECONDS);
            receive.get(5, TimeUnit.SECONDS);
            assertEquals(0.1f + 0.2f, into.getFloat(0));
            assertEquals(3f, into.getFloat(1));
            assertEquals(1e-8f + 1, into.getFloat(2));
            assertEquals(0.1f, base.getFloat(0), "the base is only read");

            CompletableFuture<Void> sendFirst = t.of(CPU0).send(CPU0, CPU1, 12, floats(1, 1, 1));
            t.of(CPU1).receiveSum(CPU1, CPU0, 12, into, into).get(5, TimeUnit.SECONDS);
            sendFirst.get(5, TimeUnit.SECONDS);
            assertEquals(4f, into.getFloat(1), "into += message when the base is the target");
        }
    }

    @Test
    void shouldFailASumWhoseBaseIsNotTheSizeOfItsTarget() throws Exception {
        try (Transports t = open(Duration.ofSeconds(10))) {
            CompletableFuture<Void> receive = t.of(CPU1).receiveSum(CPU1, CPU0, 13, floats(1, 2),
                    TensorBuffer.allocate(ElementType.F32, 3));
            ExecutionException e = assertThrows(ExecutionException.class, () -> receive.get(5, TimeUnit.SECONDS));
            assertTrue(e.getCause().getMessage().contains("the base F32[2] of the sum is not the size of its target F32[3]"),
                    e.getCause().getMessage());
        }
    }

    @Test
    void shouldKeepMessagesOfDifferentIdsAndDirectionsApart() throws Exception {
        try (Transports t = open(Duration.ofSeconds(10))) {
            TensorBuffer a = TensorBuffer.allocate(ElementType.F32, 1);
            TensorBuffer b = TensorBuffer.allocate(ElementType.F32, 1);
            CompletableFuture<Void> ra = t.of(CPU1).receive(CPU1, CPU0, 1, a);
            CompletableFuture<Void> rb = t.of(CPU0).receive(CPU0, CPU1, 1, b);
            t.of(CPU1).send(CPU1, CPU0, 1, floats(20)).get(5, TimeUnit.SECONDS);
            t.of(CPU0).send(CPU0, CPU1, 1, floats(10)).get(5, TimeUnit.SECONDS);
            CompletableFuture.allOf(ra, rb).get(5, TimeUnit.SECONDS);
            assertEquals(10f, a.getFloat(0));
            assertEquals(20f, b.getFloat(0));
        }
    }

    @Test
    void shouldFailAReceiveNamingTheSilentPeerAfterTheTimeout() throws Exception {
        try (Transports t = open(Duration.ofMillis(100))) {
            CompletableFuture<Void> receive = t.of(CPU1).receive(CPU1, CPU0, 3, TensorBuffer.allocate(ElementType.F32, 1));
            ExecutionException e = assertThrows(ExecutionException.class, () -> receive.get(5, TimeUnit.SECONDS));
            assertInstanceOf(TransportException.class, e.getCause());
            assertTrue(e.getCause().getMessage().contains("cpu:0 sent no such message"), e.getCause().getMessage());
        }
    }

    @Test
    void shouldFailASendNamingThePeerThatPostedNoReceiveAfterTheTimeout() throws Exception {
        try (Transports t = open(Duration.ofMillis(100))) {
            CompletableFuture<Void> send = t.of(CPU0).send(CPU0, CPU1, 3, floats(1));
            ExecutionException e = assertThrows(ExecutionException.class, () -> send.get(5, TimeUnit.SECONDS));
            assertInstanceOf(TransportException.class, e.getCause());
            assertTrue(e.getCause().getMessage().contains("cpu:1 posted no matching receive"), e.getCause().getMessage());
        }
    }

    @Test
    void shouldNotDeliverALaterSendToAReceiveThatTimedOut() throws Exception {
        try (Transports t = open(Duration.ofMillis(200))) {
            CompletableFuture<Void> receive = t.of(CPU1).receive(CPU1, CPU0, 4, TensorBuffer.allocate(ElementType.F32, 1));
            assertThrows(ExecutionException.class, () -> receive.get(5, TimeUnit.SECONDS));
            Thread.sleep(100);
            CompletableFuture<Void> send = t.of(CPU0).send(CPU0, CPU1, 4, floats(1));
            ExecutionException e = assertThrows(ExecutionException.class, () -> send.get(5, TimeUnit.SECONDS));
            assertTrue(e.getCause().getMessage().contains("cpu:1 posted no matching receive"), e.getCause().getMessage());
        }
    }

    @Test
    void shouldRejectAPeerThatIsNotOnTheTransport() throws Exception {
        try (Transports t = open(Duration.ofSeconds(10))) {
            CompletableFuture<Void> send = t.of(CPU0).send(CPU0, CPU2, 1, floats(1));
            ExecutionException e = assertThrows(ExecutionException.class, () -> send.get(5, TimeUnit.SECONDS));
            assertTrue(e.getCause().getMessage().contains("device cpu:2 is not on this transport"), e.getCause().getMessage());
        }
    }

    @Test
    void shouldFailBothSidesWhenTheSizesDisagree() throws Exception {
        try (Transports t = open(Duration.ofSeconds(10))) {
            CompletableFuture<Void> receive = t.of(CPU1).receive(CPU1, CPU0, 1, TensorBuffer.allocate(ElementType.F32, 2));
            CompletableFuture<Void> send = t.of(CPU0).send(CPU0, CPU1, 1, floats(1, 2, 3));
            ExecutionException e = assertThrows(ExecutionException.class, () -> receive.get(5, TimeUnit.SECONDS));
            assertTrue(e.getCause().getMessage().contains("carries F32[3] but cpu:1 expects F32[2]"), e.getCause().getMessage());
            assertThrows(ExecutionException.class, () -> send.get(5, TimeUnit.SECONDS));
        }
    }

    @Test
    void shouldFailWaitingMessagesWhenClosed() throws Exception {
        Transports t = open(Duration.ofSeconds(10));
        CompletableFuture<Void> send = t.of(CPU0).send(CPU0, CPU1, 1, floats(1));
        t.close();
        ExecutionException e = assertThrows(ExecutionException.class, () -> send.get(5, TimeUnit.SECONDS));
        assertTrue(e.getCause().getMessage().contains("closed"), e.getCause().getMessage());
        assertTrue(t.of(CPU1).receive(CPU1, CPU0, 2, floats(0)).isCompletedExceptionally());
    }

    @Test
    void shouldCountTheBytesEachDeviceSendsThroughItsCommunicator() throws Exception {
        try (Transports t = open(Duration.ofSeconds(10))) {
            SentBytes counted = new SentBytes(2);
            Communicator zero = new TransportCommunicator(t.of(CPU0), 5, List.of(CPU0, CPU1), 0, counted);
            Communicator one = new TransportCommunicator(t.of(CPU1), 5, List.of(CPU0, CPU1), 1, counted);
            TensorBuffer into = TensorBuffer.allocate(ElementType.F32, 3);
            CompletableFuture<Void> r = one.receive(0, 9, into);
            zero.send(1, 9, floats(1, 2, 3)).get(5, TimeUnit.SECONDS);
            r.get(5, TimeUnit.SECONDS);
            assertEquals(12, zero.bytesSent());
            assertEquals(12, counted.of(CPU0));
            assertEquals(0, counted.of(CPU1));
        }
    }
}
