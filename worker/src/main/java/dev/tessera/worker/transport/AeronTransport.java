package dev.tessera.worker.transport;

import dev.tessera.runtime.plan.Device;
import dev.tessera.runtime.transport.TensorBuffer;
import dev.tessera.runtime.transport.Transport;
import dev.tessera.runtime.transport.TransportException;
import io.aeron.Aeron;
import io.aeron.ExclusivePublication;
import io.aeron.Subscription;
import io.aeron.driver.MediaDriver;
import io.aeron.driver.ThreadingMode;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.BusySpinIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.ManyToOneConcurrentLinkedQueue;
import org.agrona.concurrent.SleepingMillisIdleStrategy;
import org.agrona.concurrent.YieldingIdleStrategy;

/**
 * The {@link Transport} between processes, over Aeron: one per process, for the devices that
 * process owns, with one exclusive publication to each peer process and one subscription on its
 * own channel. IPC when the processes share a media driver (an external one, {@link
 * AeronSettings#externalDriverDirectory}); UDP otherwise, each process starting its own embedded
 * driver in a fresh directory that {@link #close} removes.
 *
 * <p>A tensor travels as chunks of {@link AeronSettings#chunkBytes} bytes, each one Aeron frame
 * with a {@code TensorFrameHeader} (tessera_transport.proto), claimed with {@code tryClaim} and
 * copied straight from the payload's memory; the receiver writes each chunk straight into the
 * posted receive buffer at its offset, or, for a {@link #receiveSum}, writes there the base plus
 * the chunk read where Aeron's term buffer holds it. Chunks travel only once the receive is posted
 * (rendezvous), so either side may come first and nothing is staged. A send completes when its
 * last chunk is in the publication (the payload may be reused); a receive when every byte arrived.
 *
 * <p>Per chunk nothing is allocated; per message, the future and its bookkeeping are. Futures
 * complete on the transport's thread. Failures ({@link TransportException}, naming both devices,
 * the message id and, for remote problems, the peer process): a device not on the transport,
 * sizes that disagree, the delivery time-out, a peer that did not connect within the connect
 * time-out or fell silent for the peer time-out (killed), and close.
 */
public final class AeronTransport implements Transport {
    private final AeronSettings settings;
    private final List<AeronPeer> peers;
    private final int self;
    private final Device[] devices;
    private final int[] ownerOf;
    private final Path ownedDriverDirectory;
    private final MediaDriver driver;
    private final Aeron aeron;
    private final Subscription subscription;
    private final ExclusivePublication[] publications;
    private final ManyToOneConcurrentLinkedQueue<Message> posted = new ManyToOneConcurrentLinkedQueue<>();
    private final RejectedFrames rejected;
    private final TransportConductor conductor;
    private final Thread thread;
    private final Thread shutdownHook;
    private volatile boolean closed;

    private AeronTransport(AeronSettings settings, List<AeronPeer> peers, int self) {
        this.settings = settings.check();
        this.peers = List.copyOf(peers);
        this.self = self;
        int size = 0;
        for (AeronPeer p : peers) {
            for (Device d : p.devices()) {
                size = Math.max(size, d.index() + 1);
            }
        }
        devices = new Device[size];
        ownerOf = new int[size];
        java.util.Arrays.fill(ownerOf, -1);
        for (int p = 0; p < peers.size(); p++) {
            for (Device d : peers.get(p).devices()) {
                if (ownerOf[d.index()] >= 0) {
                    throw new IllegalArgumentException("device " + d.name() + " is owned by both " + peers.get(ownerOf[d.index()])
                            .name() + " and " + peers.get(p).name() + "; each device belongs to one process");
                }
                devices[d.index()] = d;
                ownerOf[d.index()] = p;
            }
        }
        int remotePeers = peers.size() - 1;
        rejected = new RejectedFrames(peers.get(self).name());
        Path driverDirectory;
        if (settings.externalDriverDirectory() != null) {
            driverDirectory = settings.externalDriverDirectory();
            DriverDirectories.checkSpace(driverDirectory, DriverDirectories.bytesNeeded(settings.termLength(), remotePeers, 0),
                    settings.termLength(), remotePeers, 0);
            ownedDriverDirectory = null;
            driver = null;
        } else {
            DriverDirectories.removeStale(settings.driverRoot());
            DriverDirectories.checkSpace(settings.driverRoot(), DriverDirectories.bytesNeeded(settings.termLength(),
                    remotePeers, remotePeers), settings.termLength(), remotePeers, remotePeers);
            ownedDriverDirectory = DriverDirectories.fresh(settings.driverRoot());
            driverDirectory = ownedDriverDirectory;
            driver = launchDriver(settings, ownedDriverDirectory);
        }
        Aeron client = null;
        try {
            client = Aeron.connect(new Aeron.Context().aeronDirectoryName(driverDirectory.toString())
                    .errorHandler(e -> System.getLogger(AeronTransport.class.getName())
                            .log(System.Logger.Level.WARNING, "Aeron client error", e)));
            AeronPeer me = peers.get(self);
            subscription = client.addSubscription(subscriptionChannel(me), me.streamId());
            publications = new ExclusivePublication[peers.size()];
            for (int p = 0; p < peers.size(); p++) {
                if (p != self) {
                    publications[p] = client.addExclusivePublication(publicationChannel(peers.get(p)), peers.get(p).streamId());
                    if (publications[p].maxPayloadLength() < TensorFrameHeaders.LENGTH + settings.chunkBytes()) {
                        throw new IllegalStateException("the publication to " + peers.get(p).name() + " carries at most "
                                + publications[p].maxPayloadLength() + " bytes per frame, less than a chunk of "
                                + settings.chunkBytes() + " plus its header; the driver ignores transport.aeron.mtu "
                                + settings.mtu() + ": set the external driver's aeron.mtu.length to it");
                    }
                }
            }
        } catch (RuntimeException e) {
            if (client != null) {
                client.close();
            }
            closeDriver();
            throw e;
        }
        aeron = client;
        conductor = new TransportConductor(settings, this.peers, self, devices, ownerOf, subscription, publications, posted,
                rejected);
        IdleStrategy idle = idleStrategy(settings.idleStrategy());
        thread = new Thread(() -> run(idle), "aeron-transport-" + peers.get(self).name());
        thread.setDaemon(true);
        thread.start();
        shutdownHook = new Thread(this::close, "aeron-transport-shutdown");
        Runtime.getRuntime().addShutdownHook(shutdownHook);
    }

    /**
     * Starts the transport of process {@code self} of {@code peers} (every process gets the same
     * list): checks the settings, removes stale driver directories, checks the space for term
     * buffers, starts the embedded driver (unless an external one is named), and subscribes.
     * Peers may start later: messages with them wait for the connect time-out.
     *
     * @throws IllegalArgumentException when a setting is out of range (each one named)
     * @throws IllegalStateException when the driver root has no room for the term buffers
     */
    public static AeronTransport start(AeronSettings settings, List<AeronPeer> peers, int self) {
        return new AeronTransport(settings, peers, self);
    }

    private static MediaDriver launchDriver(AeronSettings s, Path directory) {
        MediaDriver.Context context = new MediaDriver.Context()
                .aeronDirectoryName(directory.toString())
                .dirDeleteOnStart(true)
                .dirDeleteOnShutdown(true)
                .threadingMode(ThreadingMode.SHARED)
                .sharedIdleStrategy(idleStrategy(s.idleStrategy()))
                .publicationTermBufferLength(s.termLength())
                .ipcTermBufferLength(s.termLength())
                .mtuLength(s.mtu())
                .ipcMtuLength(s.mtu())
                .clientLivenessTimeoutNs(s.clientLivenessTimeout().toNanos())
                .publicationUnblockTimeoutNs(s.publicationUnblockTimeout().toNanos())
                .warnIfDirectoryExists(false);
        if (s.socketBufferBytes() > 0) {
            context.socketSndbufLength(s.socketBufferBytes()).socketRcvbufLength(s.socketBufferBytes());
        }
        return MediaDriver.launch(context);
    }

    /** A media driver that other processes' transports share (IPC), with the same settings an embedded one gets. */
    public static MediaDriver launchSharedDriver(AeronSettings settings, Path directory) {
        settings.check();
        return launchDriver(settings, directory);
    }

    static IdleStrategy idleStrategy(String name) {
        return switch (name) {
            case "busy-spin" -> new BusySpinIdleStrategy();
            case "yielding" -> new YieldingIdleStrategy();
            case "sleeping" -> new SleepingMillisIdleStrategy(1);
            default -> new BackoffIdleStrategy(100, 10, TimeUnit.MICROSECONDS.toNanos(1), TimeUnit.MILLISECONDS.toNanos(1));
        };
    }

    private String publicationChannel(AeronPeer peer) {
        StringBuilder uri = new StringBuilder(peer.channel()).append(peer.channel().contains("?") ? "|" : "?")
                .append("term-length=").append(settings.termLength()).append("|mtu=").append(settings.mtu());
        if (!peer.isIpc() && settings.socketBufferBytes() > 0) {
            uri.append("|so-sndbuf=").append(settings.socketBufferBytes());
        }
        return uri.toString();
    }

    private String subscriptionChannel(AeronPeer me) {
        if (me.isIpc() || settings.socketBufferBytes() == 0) {
            return me.channel();
        }
        return me.channel() + (me.channel().contains("?") ? "|" : "?") + "so-rcvbuf=" + settings.socketBufferBytes();
    }

    /** The transport thread: duty cycles until closed, then the linger, then closing; a failure fails every message. */
    private void run(IdleStrategy idle) {
        try {
            while (!closed) {
                idle.idle(conductor.doWork());
            }
            conductor.failAll("the transport was closed before the other side arrived");
            long lingerUntil = System.nanoTime() + Math.min(settings.peerTimeout().toNanos(), TimeUnit.SECONDS.toNanos(5));
            while (!conductor.drained() && System.nanoTime() < lingerUntil) {
                idle.idle(conductor.doWork());
                conductor.failAll("the transport was closed before the other side arrived");
            }
        } catch (RuntimeException | Error e) {
            closed = true;
            System.getLogger(AeronTransport.class.getName()).log(System.Logger.Level.ERROR,
                    "the Aeron transport of " + peers.get(self).name() + " failed", e);
            conductor.failAll("the transport's thread failed: " + e);
        } finally {
            aeron.close();
            closeDriver();
        }
    }

    @Override
    public CompletableFuture<Void> send(Device source, Device destination, long messageId, TensorBuffer payload) {
        return post(true, source, destination, messageId, payload, null);
    }

    @Override
    public CompletableFuture<Void> receive(Device destination, Device source, long messageId, TensorBuffer into) {
        return post(false, source, destination, messageId, into, null);
    }

    /**
     * {@inheritDoc}
     *
     * <p>Each chunk is summed on the transport's thread as it is polled, straight out of the term
     * buffer, after the checks every chunk passes (job, plan version, lengths, chunk index), so a
     * rejected or duplicated frame is never added.
     */
    @Override
    public CompletableFuture<Void> receiveSum(Device destination, Device source, long messageId, TensorBuffer base,
            TensorBuffer into) {
        return post(false, source, destination, messageId, into, base);
    }

    private CompletableFuture<Void> post(boolean isSend, Device source, Device destination, long messageId,
            TensorBuffer buffer, TensorBuffer base) {
        Device local = isSend ? source : destination;
        Device other = isSend ? destination : source;
        String problem = closed ? "the transport is closed"
                : owner(local) != self ? "device " + local.name() + " is not on this transport"
                        + (owner(local) >= 0 ? " (it belongs to " + peers.get(owner(local)).name() + ")" : "")
                : owner(other) < 0 ? "device " + other.name() + " is not on this transport"
                : base != null && (base.type() != buffer.type() || base.elements() != buffer.elements())
                        ? "the base " + base.describe() + " of the sum is not the size of its target " + buffer.describe()
                : owner(other) != self ? conductor.deadReason(owner(other)) : null;
        if (problem != null) {
            CompletableFuture<Void> failed = new CompletableFuture<>();
            failed.completeExceptionally(new TransportException((isSend ? "sending" : "receiving") + " message "
                    + messageId + " from " + source.name() + " to " + destination.name() + " failed: " + problem));
            return failed;
        }
        int remote = owner(other) == self ? -1 : owner(other);
        Message m = new Message(isSend, source, destination, messageId, buffer, base, remote);
        posted.offer(m);
        if (closed) {
            // close() may have drained the queue already; failing twice is harmless.
            m.done.completeExceptionally(new TransportException(m.describe() + " failed: the transport is closed"));
        }
        return m.done;
    }

    private int owner(Device d) {
        int i = d.index();
        return i < devices.length && d.equals(devices[i]) ? ownerOf[i] : -1;
    }

    /** Frames this transport rejected, by reason. */
    public RejectedFrames rejectedFrames() {
        return rejected;
    }

    /** The directory of this process's embedded driver, or null with an external driver. */
    public Path driverDirectory() {
        return ownedDriverDirectory;
    }

    /**
     * Fails every message still waiting, waits (up to the peer time-out, at most 5 s) until the
     * receivers acknowledged every completed send, then closes the publications, the subscription,
     * the client and the embedded driver, and removes its directory. Called on the transport's own
     * thread (from a future's callback) it only starts this, which that thread finishes after the
     * callback returns.
     */
    @Override
    public void close() {
        closed = true;
        if (Thread.currentThread() == thread) {
            return;
        }
        try {
            thread.join(TimeUnit.SECONDS.toMillis(15));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (Thread.currentThread() != shutdownHook) {
            try {
                Runtime.getRuntime().removeShutdownHook(shutdownHook);
            } catch (IllegalStateException shuttingDown) {
                // the JVM is exiting: the hook runs close() too, which only waits for the thread
            }
        }
    }

    private void closeDriver() {
        if (driver != null) {
            driver.close();
        }
        if (ownedDriverDirectory != null) {
            DriverDirectories.delete(ownedDriverDirectory);
        }
    }
}
