package dev.tessera.worker.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.runtime.plan.Device;
import dev.tessera.runtime.transport.ElementType;
import dev.tessera.runtime.transport.TensorBuffer;
import dev.tessera.runtime.transport.TransportException;
import dev.tessera.tensor.HostTensor;
import io.aeron.driver.MediaDriver;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The Aeron transport between real OS processes: this JVM is process 0, the others are
 * {@link AeronPeerProcess} children. Afterwards no child runs and no driver directory is left.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class AeronMultiProcessTest {
    private final Path root = AeronTestSupport.driverRoot();

    @AfterEach
    void nothingLeft() {
        List<Path> left = DriverDirectories.all(root);
        AeronTestSupport.deleteRoot(root);
        assertEquals(List.of(), left, "driver directories left in " + root);
    }

    @ParameterizedTest(name = "ipc={0}")
    @ValueSource(booleans = {true, false})
    void shouldEchoTensorsFrom4KiBTo64MiBByteForByteBetweenTwoProcesses(boolean ipc) throws Exception {
        List<AeronPeer> peers = AeronTestSupport.peers(ipc, 2, 1);
        Path shared = root.resolve("shared-driver");
        String driver = ipc ? "external=" + shared : "root=" + root;
        MediaDriver sharedDriver = ipc ? AeronTransport.launchSharedDriver(AeronPeerProcess.settings(driver), shared) : null;
        try (ChildProcesses children = new ChildProcesses()) {
            Process child = children.start("echo", peers, 1, driver);
            Device zero = peers.get(0).devices().get(0);
            Device one = peers.get(1).devices().get(0);
            try (AeronTransport transport = AeronTransport.start(AeronPeerProcess.settings(driver), peers, 0)) {
                SplittableRandom random = new SplittableRandom(5);
                for (int i = 0; i < AeronPeerProcess.SIZES.length; i++) {
                    int elements = AeronPeerProcess.SIZES[i] / 4;
                    TensorBuffer sent = TensorBuffer.allocate(ElementType.I32, elements);
                    for (int e = 0; e < elements; e++) {
                        sent.putInt(e, random.nextInt());
                    }
                    TensorBuffer back = TensorBuffer.allocate(ElementType.I32, elements);
                    CompletableFuture<Void> receive = transport.receive(zero, one, 1000 + i, back);
                    transport.send(zero, one, i, sent).get(60, TimeUnit.SECONDS);
                    receive.get(60, TimeUnit.SECONDS);
                    assertEquals(-1, sent.region().mismatch(back.region()), AeronPeerProcess.SIZES[i] + " bytes came back changed");
                }
                assertEquals(0, transport.rejectedFrames().total(), () -> transport.rejectedFrames().counts().toString());
            }
            children.assertSucceeds(child, 30);
        } finally {
            if (sharedDriver != null) {
                sharedDriver.close();
            }
        }
    }

    @ParameterizedTest(name = "{0} processes")
    @ValueSource(ints = {2, 3})
    void shouldRunRingAllReduceAndAllGatherAcrossProcessesBitForBitAsHostBoxing(int processes) throws Exception {
        List<AeronPeer> peers = AeronTestSupport.peers(false, processes, 1);
        String driver = "root=" + root;
        ExecutorService executor = Executors.newSingleThreadExecutor();
        try (ChildProcesses children = new ChildProcesses()) {
            Process[] others = new Process[processes];
            for (int p = 1; p < processes; p++) {
                others[p] = children.start("collectives", peers, p, driver);
            }
            List<Device> group = peers.stream().map(p -> p.devices().get(0)).toList();
            try (AeronTransport transport = AeronTransport.start(AeronPeerProcess.settings(driver), peers, 0)) {
                for (String name : List.of("all-reduce", "all-gather")) {
                    RingCase ring = RingCase.of(name, processes);
                    HostTensor actual = ring.runMember(transport, 0, name.equals("all-reduce") ? 1 : 2, group, executor);
                    assertEquals(ring.expectedOn(0), actual, name + " over " + processes + " processes on cpu:0");
                }
            }
            for (int p = 1; p < processes; p++) {
                children.assertSucceeds(others[p], 30);
            }
        } finally {
            executor.shutdownNow();
        }
    }

    @Test
    void shouldFailTheReceiverWithinSecondsNamingAPeerKilledMidTransfer() throws Exception {
        List<AeronPeer> peers = AeronTestSupport.peers(false, 2, 1);
        String driver = "root=" + root;
        Device zero = peers.get(0).devices().get(0);
        Device one = peers.get(1).devices().get(0);
        try (ChildProcesses children = new ChildProcesses()) {
            Process child = children.start("stream", peers, 1, driver);
            AeronSettings impatient = AeronPeerProcess.settings(driver)
                    .withTimeouts(Duration.ofSeconds(30), Duration.ofSeconds(20), Duration.ofSeconds(2));
            try (AeronTransport transport = AeronTransport.start(impatient, peers, 0)) {
                TensorBuffer into = TensorBuffer.allocate(ElementType.I32, (64 << 20) / 4);
                transport.receive(zero, one, 0, into).get(60, TimeUnit.SECONDS);
                CompletableFuture<Void> next = transport.receive(zero, one, 1, into);
                Thread.sleep(20);
                long killed = System.nanoTime();
                child.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                ExecutionException e = assertThrows(ExecutionException.class, () -> next.get(20, TimeUnit.SECONDS));
                double seconds = (System.nanoTime() - killed) / 1e9;
                assertTrue(e.getCause() instanceof TransportException, e.toString());
                assertTrue(e.getCause().getMessage().contains("peer process-1 stopped responding"), e.getCause().getMessage());
                assertTrue(seconds < 8, "the receiver noticed the killed peer only after " + seconds + " s");
                assertTrue(transport.send(zero, one, 2, into).isCompletedExceptionally(),
                        "a message to a dead peer fails at once");
            }
            assertFalse(child.isAlive());
        }
        assertEquals(1, DriverDirectories.all(root).size(), "the killed child's driver directory is left until the next start");
        AeronTransport.start(AeronPeerProcess.settings(driver), peers, 0).close();
    }
}
