package dev.tessera.worker.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tessera.runtime.plan.Device;
import dev.tessera.runtime.transport.Transport;
import dev.tessera.runtime.transport.TransportContractTest;
import io.aeron.driver.MediaDriver;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Nested;

/**
 * The transport contract InProcessTransport passes, against two Aeron transports of one JVM (one
 * per "process", cpu:0 on the first, cpu:1 on the second): over IPC through a shared driver, and
 * over UDP on loopback with an embedded driver each; and one transport owning both devices.
 * Afterwards no driver directory is left.
 */
class AeronTransportContractTest {
    @Nested
    class OverIpc extends TransportContractTest {
        private final Path root = AeronTestSupport.driverRoot();

        @Override
        protected Transports open(Duration deliveryTimeout) {
            AeronSettings settings = AeronTestSupport.settings(root, deliveryTimeout);
            Path directory = root.resolve("shared-driver");
            MediaDriver driver = AeronTransport.launchSharedDriver(settings, directory);
            List<AeronPeer> peers = List.of(AeronPeer.ipc("process-0", 2000, List.of(CPU0)),
                    AeronPeer.ipc("process-1", 2001, List.of(CPU1)));
            AeronSettings external = settings.withExternalDriver(directory);
            return pair(AeronTransport.start(external, peers, 0), AeronTransport.start(external, peers, 1), driver);
        }

        @AfterEach
        void nothingLeft() {
            List<Path> left = DriverDirectories.all(root);
            AeronTestSupport.deleteRoot(root);
            assertEquals(List.of(), left);
        }
    }

    @Nested
    class OverUdp extends TransportContractTest {
        private final Path root = AeronTestSupport.driverRoot();

        @Override
        protected Transports open(Duration deliveryTimeout) {
            AeronSettings settings = AeronTestSupport.settings(root, deliveryTimeout);
            List<AeronPeer> peers = List.of(
                    AeronPeer.udp("process-0", "127.0.0.1", AeronTestSupport.freeUdpPort(), List.of(CPU0)),
                    AeronPeer.udp("process-1", "127.0.0.1", AeronTestSupport.freeUdpPort(), List.of(CPU1)));
            return pair(AeronTransport.start(settings, peers, 0), AeronTransport.start(settings, peers, 1), null);
        }

        @AfterEach
        void nothingLeft() {
            List<Path> left = DriverDirectories.all(root);
            AeronTestSupport.deleteRoot(root);
            assertEquals(List.of(), left);
        }
    }

    /** One transport owning both devices: messages between devices of one process never touch Aeron. */
    @Nested
    class WithinOneProcess extends TransportContractTest {
        private final Path root = AeronTestSupport.driverRoot();

        @Override
        protected Transports open(Duration deliveryTimeout) {
            AeronSettings settings = AeronTestSupport.settings(root, deliveryTimeout);
            List<AeronPeer> peers = List.of(
                    AeronPeer.udp("process-0", "127.0.0.1", AeronTestSupport.freeUdpPort(), List.of(CPU0, CPU1)));
            AeronTransport both = AeronTransport.start(settings, peers, 0);
            return pair(both, both, null);
        }

        @AfterEach
        void nothingLeft() {
            List<Path> left = DriverDirectories.all(root);
            AeronTestSupport.deleteRoot(root);
            assertEquals(List.of(), left);
        }
    }

    static TransportContractTest.Transports pair(AeronTransport zero, AeronTransport one, MediaDriver shared) {
        return new TransportContractTest.Transports() {
            private boolean closed;

            @Override
            public Transport of(Device device) {
                return device.index() == 0 ? zero : one;
            }

            @Override
            public void close() {
                if (closed) {
                    return;
                }
                closed = true;
                zero.close();
                if (one != zero) {
                    one.close();
                }
                if (shared != null) {
                    shared.close();
                }
            }
        };
    }
}
