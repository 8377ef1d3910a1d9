package dev.tessera.worker.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.runtime.plan.Device;
import dev.tessera.runtime.transport.ElementType;
import dev.tessera.runtime.transport.TensorBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Start-up checks: settings out of range, too little room for term buffers, stale driver
 * directories; and a peer that never starts.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class AeronSettingsTest {
    @Test
    void shouldAcceptTheDefaults() {
        AeronSettings s = AeronSettings.defaults(1).check();
        assertEquals(16 << 20, s.termLength());
        assertEquals(8064, s.chunkBytes());
    }

    @Test
    void shouldNameEveryBadSettingAndWhatToSet() {
        AeronSettings bad = AeronSettings.defaults(1).withTermLength(100_000).withMtu(1000).withIdleStrategy("fast")
                .withDriverTimeouts(Duration.ofSeconds(10), Duration.ofSeconds(10));
        String message = assertThrows(IllegalArgumentException.class, bad::check).getMessage();
        assertTrue(message.contains("transport.aeron.term-length is 100000 bytes; Aeron needs a power of two from 64 KiB"),
                message);
        assertTrue(message.contains("transport.aeron.mtu is 1000"), message);
        assertTrue(message.contains("idle-strategy 'fast'"), message);
        assertTrue(message.contains("publication-unblock-timeout (PT10S) must be longer than "
                + "transport.aeron.client-liveness-timeout (PT10S)"), message);
    }

    @Test
    void shouldRefuseToStartWithoutRoomForTheTermBuffersNamingTheSpaceAndTheSetting() throws Exception {
        Path root = AeronTestSupport.driverRoot();
        try {
            List<AeronPeer> peers = new ArrayList<>();
            for (int p = 0; p < 64; p++) {
                peers.add(AeronPeer.udp("process-" + p, "127.0.0.1", 40000 + p, List.of(new Device(p, "cpu:" + p))));
            }
            AeronSettings huge = AeronSettings.defaults(1).withDriverRoot(root).withTermLength(1 << 30);
            String message = assertThrows(IllegalStateException.class, () -> AeronTransport.start(huge, peers, 0))
                    .getMessage();
            assertTrue(message.contains("needs 387074 MiB in " + root), message);
            assertTrue(message.contains("lower transport.aeron.term-length"), message);
            assertEquals(List.of(), DriverDirectories.all(root), "no driver started");
        } finally {
            AeronTestSupport.deleteRoot(root);
        }
    }

    @Test
    void shouldRemoveTheDirectoriesOfDeadProcessesOnStart() throws Exception {
        Path root = AeronTestSupport.driverRoot();
        try {
            Path stale = Files.createDirectories(root.resolve(DriverDirectories.PREFIX + "999999999-1"));
            Files.writeString(stale.resolve("cnc.dat"), "left by a killed worker");
            List<AeronPeer> peers = List.of(AeronPeer.udp("process-0", "127.0.0.1", AeronTestSupport.freeUdpPort(),
                    List.of(new Device(0, "cpu:0"))));
            try (AeronTransport transport = AeronTransport.start(AeronTestSupport.settings(root, Duration.ofSeconds(1)),
                    peers, 0)) {
                assertEquals(List.of(transport.driverDirectory()), DriverDirectories.all(root));
            }
            assertEquals(List.of(), DriverDirectories.all(root));
        } finally {
            AeronTestSupport.deleteRoot(root);
        }
    }

    @Test
    void shouldFailAMessageToAPeerThatNeverConnectsNamingItAfterTheConnectTimeout() throws Exception {
        Path root = AeronTestSupport.driverRoot();
        try {
            List<AeronPeer> peers = AeronTestSupport.peers(false, 2, 1);
            AeronSettings settings = AeronTestSupport.settings(root, Duration.ofSeconds(20))
                    .withTimeouts(Duration.ofSeconds(20), Duration.ofMillis(300), Duration.ofSeconds(3));
            try (AeronTransport alone = AeronTransport.start(settings, peers, 0)) {
                long start = System.nanoTime();
                CompletableFuture<Void> send = alone.send(peers.get(0).devices().get(0), peers.get(1).devices().get(0), 1,
                        TensorBuffer.allocate(ElementType.F32, 4));
                ExecutionException e = assertThrows(ExecutionException.class, () -> send.get(10, TimeUnit.SECONDS));
                assertTrue(e.getCause().getMessage().contains("peer process-1 did not connect within PT0.3S "
                        + "(transport.aeron.connect-timeout)"), e.getCause().getMessage());
                assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(5));
            }
        } finally {
            AeronTestSupport.deleteRoot(root);
        }
    }
}
