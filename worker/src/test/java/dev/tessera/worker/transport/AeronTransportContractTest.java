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
    /** The contract over transports whose drivers live under one root, checked empty afterwards. */
    abstract static class AeronContract extends TransportContractTest {
        final Path root = AeronTestSupport.driverRoot();

        @AfterEach
        void nothingLeft() {
            List<Path> left = DriverDirectories.all(root);
            AeronTestSupport.deleteRoot(root);
            assertEquals(List.of(), left);
        }
    }

    @Nested
    class OverIpc extends AeronContract {
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
    }

    @Nested
    class OverUdp extends AeronContract {
        @Override
        protected Transports open(Duration deliveryTimeout) {
            AeronSettings settings = AeronTestSupport.settings(root, deliveryTimeout);
            List<AeronPeer> peers = List.of(
                    AeronPeer.udp("process-0", "127.0.0.1", AeronTestSupport.freeUdpPort(), List.of(CPU0)),
                    AeronPeer.udp("process-1", "127.0.0.1", AeronTestSupport.freeUdpPort(), List.of(CPU1)));
            return pair(AeronTransport.start(settings, peers, 0), AeronTransport.start(settings, peers, 1), null);
        }
    }

    /** One transport owning both devices: messages between devices of one process never touch Aeron. */
    @Nested
    class WithinOneProcess extends AeronContract {
        @Override
        protected Transports open(Duration deliveryTimeout) {
            AeronSettings settings = AeronTestSupport.settings(root, deliveryTimeout);
            List<AeronPeer> peers = List.of(
                    AeronPeer.udp("process-0", "127.0.0.1", AeronTestSupport.freeUdpPort(), List.of(CPU0, CPU1)));
            AeronTransport both = AeronTransport.start(settings, peers, 0);
            return pair(both, both, null);
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
