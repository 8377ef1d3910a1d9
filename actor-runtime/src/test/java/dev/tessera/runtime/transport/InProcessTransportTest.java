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

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class InProcessTransportTest {
    private static final Device CPU0 = new Device(0, "cpu:0");
    private static final Device CPU1 = new Device(1, "cpu:1");
    private static final Device CPU2 = new Device(2, "cpu:2");

    private static InProcessTransport transport(Duration timeout) {
        return new InProcessTransport(List.of(CPU0, CPU1), timeout);
    }

    private static TensorBuffer floats(float... values) {
        TensorBuffer b = TensorBuffer.allocate(ElementType.F32, values.length);
        for (int i = 0; i < values.length; i++) {
            b.putFloat(i, values[i]);
        }
        return b;
    }

    @Test
    void shouldDeliverWhicheverSideIsPostedFirst() throws Exception {
        try (InProcessTransport transport = transport(Duration.ofSeconds(10))) {
            TensorBuffer first = TensorBuffer.allocate(ElementType.F32, 3);
            CompletableFuture<Void> receive = transport.receive(CPU1, CPU0, 7, first);
            CompletableFuture<Void> send = transport.send(CPU0, CPU1, 7, floats(1, 2, 3));
            CompletableFuture.allOf(receive, send).get(5, TimeUnit.SECONDS);
            assertEquals(3f, first.getFloat(2));

            TensorBuffer second = TensorBuffer.allocate(ElementType.F32, 3);
            CompletableFuture<Void> sendFirst = transport.send(CPU0, CPU1, 8, floats(4, 5, 6));
            assertTrue(!sendFirst.isDone(), "a send completes only when its receive takes the payload");
            transport.receive(CPU1, CPU0, 8, second).get(5, TimeUnit.SECONDS);
            sendFirst.get(5, TimeUnit.SECONDS);
            assertEquals(4f, second.getFloat(0));
        }
    }

    @Test
    void shouldKeepMessagesOfDifferentIdsAndDirectionsApart() throws Exception {
        try (InProcessTransport transport = transport(Duration.ofSeconds(10))) {
            TensorBuffer a = TensorBuffer.allocate(ElementType.F32, 1);
            TensorBuffer b = TensorBuffer.allocate(ElementType.F32, 1);
            CompletableFuture<Void> ra = transport.receive(CPU1, CPU0, 1, a);
            CompletableFuture<Void> rb = transport.receive(CPU0, CPU1, 1, b);
            transport.send(CPU1, CPU0, 1, floats(20)).get(5, TimeUnit.SECONDS);
            transport.send(CPU0, CPU1, 1, floats(10)).get(5, TimeUnit.SECONDS);
            CompletableFuture.allOf(ra, rb).get(5, TimeUnit.SECONDS);
            assertEquals(10f, a.getFloat(0));
            assertEquals(20f, b.getFloat(0));
        }
    }

    @Test
    void shouldFailAReceiveNamingTheSilentPeerAfterTheTimeout() {
        try (InProcessTransport transport = transport(Duration.ofMillis(100))) {
            CompletableFuture<Void> receive = transport.receive(CPU1, CPU0, 3, TensorBuffer.allocate(ElementType.F32, 1));
            ExecutionException e = assertThrows(ExecutionException.class, () -> receive.get(5, TimeUnit.SECONDS));
            assertInstanceOf(TransportException.class, e.getCause());
            assertTrue(e.getCause().getMessage().contains("cpu:0 sent no such message"), e.getCause().getMessage());
        }
    }

    @Test
    void shouldRejectAPeerThatIsNotOnTheTransport() {
        try (InProcessTransport transport = transport(Duration.ofSeconds(10))) {
            CompletableFuture<Void> send = transport.send(CPU0, CPU2, 1, floats(1));
            ExecutionException e = assertThrows(ExecutionException.class, () -> send.get(5, TimeUnit.SECONDS));
            assertTrue(e.getCause().getMessage().contains("device cpu:2 is not on this transport"), e.getCause().getMessage());
        }
    }

    @Test
    void shouldFailBothSidesWhenTheSizesDisagree() {
        try (InProcessTransport transport = transport(Duration.ofSeconds(10))) {
            CompletableFuture<Void> receive = transport.receive(CPU1, CPU0, 1, TensorBuffer.allocate(ElementType.F32, 2));
            CompletableFuture<Void> send = transport.send(CPU0, CPU1, 1, floats(1, 2, 3));
            ExecutionException e = assertThrows(ExecutionException.class, () -> receive.get(5, TimeUnit.SECONDS));
            assertTrue(e.getCause().getMessage().contains("carries F32[3] but cpu:1 expects F32[2]"), e.getCause().getMessage());
            assertThrows(ExecutionException.class, () -> send.get(5, TimeUnit.SECONDS));
        }
    }

    @Test
    void shouldFailWaitingMessagesWhenClosed() {
        InProcessTransport transport = transport(Duration.ofSeconds(10));
        CompletableFuture<Void> send = transport.send(CPU0, CPU1, 1, floats(1));
        transport.close();
        ExecutionException e = assertThrows(ExecutionException.class, () -> send.get(5, TimeUnit.SECONDS));
        assertTrue(e.getCause().getMessage().contains("closed"), e.getCause().getMessage());
        assertTrue(transport.receive(CPU1, CPU0, 2, floats(0)).isCompletedExceptionally());
    }

    @Test
    void shouldCountTheBytesEachDeviceSendsThroughItsCommunicator() throws Exception {
        try (InProcessTransport transport = transport(Duration.ofSeconds(10))) {
            SentBytes counted = new SentBytes(2);
            Communicator zero = new TransportCommunicator(transport, 5, List.of(CPU0, CPU1), 0, counted);
            Communicator one = new TransportCommunicator(transport, 5, List.of(CPU0, CPU1), 1, counted);
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
