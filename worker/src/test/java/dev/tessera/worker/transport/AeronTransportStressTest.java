package dev.tessera.worker.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tessera.runtime.plan.Device;
import dev.tessera.runtime.transport.ElementType;
import dev.tessera.runtime.transport.TensorBuffer;
import io.aeron.driver.MediaDriver;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Many messages at once between two transports over IPC, in both directions, of random sizes
 * (empty, under a chunk, many chunks), either side posted first at random, all in flight at once:
 * every receive gets exactly its send's bytes and nothing is rejected.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AeronTransportStressTest {
    private static final Device CPU0 = new Device(0, "cpu:0");
    private static final Device CPU1 = new Device(1, "cpu:1");

    @Test
    void shouldDeliverEveryOneOfManyConcurrentMessagesIntact() throws Exception {
        Path root = AeronTestSupport.driverRoot();
        AeronSettings settings = AeronTestSupport.settings(root, Duration.ofSeconds(20));
        Path dir = root.resolve("shared-driver");
        List<AeronPeer> peers = List.of(AeronPeer.ipc("process-0", 2000, List.of(CPU0)),
                AeronPeer.ipc("process-1", 2001, List.of(CPU1)));
        try (MediaDriver driver = AeronTransport.launchSharedDriver(settings, dir);
                AeronTransport zero = AeronTransport.start(settings.withExternalDriver(dir), peers, 0);
                AeronTransport one = AeronTransport.start(settings.withExternalDriver(dir), peers, 1)) {
            SplittableRandom random = new SplittableRandom(3);
            List<CompletableFuture<Void>> all = new ArrayList<>();
            List<TensorBuffer[]> pairs = new ArrayList<>();
            for (int m = 0; m < 300; m++) {
                boolean forward = random.nextBoolean();
                int elements = switch (random.nextInt(4)) {
                    case 0 -> 0;
                    case 1 -> random.nextInt(1, 2000);
                    default -> random.nextInt(2000, 100_000);
                };
                TensorBuffer payload = TensorBuffer.allocate(ElementType.F32, elements);
                for (int e = 0; e < elements; e++) {
                    payload.putFloat(e, random.nextFloat());
                }
                TensorBuffer into = TensorBuffer.allocate(ElementType.F32, elements);
                pairs.add(new TensorBuffer[] {payload, into});
                AeronTransport sender = forward ? zero : one;
                AeronTransport receiver = forward ? one : zero;
                Device from = forward ? CPU0 : CPU1;
                Device to = forward ? CPU1 : CPU0;
                long id = m;
                Runnable send = () -> all.add(sender.send(from, to, id, payload));
                Runnable receive = () -> all.add(receiver.receive(to, from, id, into));
                if (random.nextBoolean()) {
                    send.run();
                    receive.run();
                } else {
                    receive.run();
                    send.run();
                }
            }
            CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
            for (int m = 0; m < pairs.size(); m++) {
                assertEquals(-1, pairs.get(m)[0].region().mismatch(pairs.get(m)[1].region()), "message " + m);
            }
            assertEquals(0, zero.rejectedFrames().total() + one.rejectedFrames().total());
        } finally {
            AeronTestSupport.deleteRoot(root);
        }
    }
}
