package dev.tessera.worker.transport;

import dev.tessera.runtime.plan.Device;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** Settings, peers and scratch driver roots for the Aeron transport's tests. */
final class AeronTestSupport {
    private AeronTestSupport() {
    }

    /** A fresh, empty directory under /dev/shm (or the temp dir) for one test's driver directories. */
    static Path driverRoot() {
        Path shm = Path.of("/dev/shm");
        try {
            return Files.createTempDirectory(Files.isDirectory(shm) ? shm : Path.of(System.getProperty("java.io.tmpdir")),
                    "tessera-test-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Small terms (the tests' messages need no throughput), short time-outs. */
    static AeronSettings settings(Path root, Duration delivery) {
        return AeronSettings.defaults(42).withDriverRoot(root).withTermLength(1 << 20)
                .withTimeouts(delivery, Duration.ofSeconds(10), Duration.ofSeconds(3));
    }

    static int freeUdpPort() {
        try (DatagramSocket socket = new DatagramSocket(0)) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** One peer per process, process p owning {@code devicesPerProcess} devices; UDP on loopback or IPC. */
    static List<AeronPeer> peers(boolean ipc, int processes, int devicesPerProcess) {
        List<AeronPeer> peers = new ArrayList<>();
        for (int p = 0; p < processes; p++) {
            List<Device> devices = new ArrayList<>();
            for (int d = 0; d < devicesPerProcess; d++) {
                int index = p * devicesPerProcess + d;
                devices.add(new Device(index, "cpu:" + index));
            }
            peers.add(ipc ? AeronPeer.ipc("process-" + p, 2000 + p, devices)
                    : AeronPeer.udp("process-" + p, "127.0.0.1", freeUdpPort(), devices));
        }
        return peers;
    }

    /** The same peers as text for a child process's command line: {@code channel,stream;channel,stream;...}. */
    static String encode(List<AeronPeer> peers) {
        StringBuilder s = new StringBuilder();
        for (AeronPeer p : peers) {
            s.append(s.length() == 0 ? "" : ";").append(p.channel()).append(',').append(p.streamId());
        }
        return s.toString();
    }

    static List<AeronPeer> decode(String text, int devicesPerProcess) {
        List<AeronPeer> peers = new ArrayList<>();
        String[] parts = text.split(";");
        for (int p = 0; p < parts.length; p++) {
            String[] cs = parts[p].split(",");
            List<Device> devices = new ArrayList<>();
            for (int d = 0; d < devicesPerProcess; d++) {
                int index = p * devicesPerProcess + d;
                devices.add(new Device(index, "cpu:" + index));
            }
            peers.add(new AeronPeer("process-" + p, cs[0], Integer.parseInt(cs[1]), devices));
        }
        return peers;
    }

    static void deleteRoot(Path root) {
        DriverDirectories.delete(root);
    }
}
