package dev.tessera.worker.transport;

import dev.tessera.runtime.plan.Device;
import dev.tessera.runtime.transport.ElementType;
import dev.tessera.runtime.transport.TensorBuffer;
import dev.tessera.tensor.HostTensor;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * The other processes of the multi-process tests: {@code java -cp <test class path>
 * AeronPeerProcess <mode> <peers> <self> <driver>} where peers is {@link AeronTestSupport#encode}'s
 * text, self this process's index and driver {@code root=<dir>} (embedded driver) or
 * {@code external=<dir>} (IPC through a shared driver). Modes:
 * <ul>
 *   <li>{@code echo}: receives each tensor of {@link #SIZES} from cpu:0 and sends it back;
 *   <li>{@code collectives}: runs its member of the ring all-reduce and all-gather of
 *       {@link RingCase} and exits 0 only when its outputs equal HostBoxing's bit for bit;
 *   <li>{@code stream}: sends 64 MiB tensors to cpu:0 until it is killed.
 * </ul>
 * Exit status 0 on success, 1 on any failure (printed).
 */
public final class AeronPeerProcess {
    static final int[] SIZES = {4 << 10, 64 << 10, 1 << 20, 16 << 20, 64 << 20};

    private AeronPeerProcess() {
    }

    public static void main(String[] args) {
        try {
            run(args);
            System.exit(0);
        } catch (Throwable t) {
            t.printStackTrace(System.out);
            System.exit(1);
        }
    }

    private static void run(String[] args) throws Exception {
        String mode = args[0];
        List<AeronPeer> peers = AeronTestSupport.decode(args[1], 1);
        int self = Integer.parseInt(args[2]);
        AeronSettings settings = settings(args[3]);
        Device me = peers.get(self).devices().get(0);
        Device zero = peers.get(0).devices().get(0);
        try (AeronTransport transport = AeronTransport.start(settings, peers, self)) {
            switch (mode) {
                case "echo" -> {
                    for (int i = 0; i < SIZES.length; i++) {
                        TensorBuffer b = TensorBuffer.allocate(ElementType.I32, SIZES[i] / 4);
                        transport.receive(me, zero, i, b).get(60, TimeUnit.SECONDS);
                        transport.send(me, zero, 1000 + i, b).get(60, TimeUnit.SECONDS);
                    }
                }
                case "collectives" -> {
                    List<Device> group = peers.stream().map(p -> p.devices().get(0)).toList();
                    ExecutorService executor = Executors.newSingleThreadExecutor();
                    try {
                        for (String name : List.of("all-reduce", "all-gather")) {
                            RingCase ring = RingCase.of(name, peers.size());
                            HostTensor actual = ring.runMember(transport, self, name.equals("all-reduce") ? 1 : 2, group,
                                    executor);
                            if (!actual.equals(ring.expectedOn(self))) {
                                throw new AssertionError(name + " on " + me.name() + " differs from HostBoxing");
                            }
                        }
                    } finally {
                        executor.shutdownNow();
                    }
                }
                case "stream" -> {
                    TensorBuffer b = TensorBuffer.allocate(ElementType.I32, (64 << 20) / 4);
                    for (long id = 0; ; id++) {
                        transport.send(me, zero, id, b).get(60, TimeUnit.SECONDS);
                    }
                }
                default -> throw new IllegalArgumentException("unknown mode " + mode);
            }
        }
    }

    /** The multi-process tests' settings: 4 MiB terms; a peer silent for 10 s is dead (a loaded CI machine stalls). */
    static AeronSettings settings(String driver) {
        Path dir = Path.of(driver.substring(driver.indexOf('=') + 1));
        AeronSettings s = AeronSettings.defaults(42).withTermLength(4 << 20)
                .withTimeouts(Duration.ofSeconds(30), Duration.ofSeconds(20), Duration.ofSeconds(10));
        return driver.startsWith("external=") ? s.withExternalDriver(dir) : s.withDriverRoot(dir);
    }
}
