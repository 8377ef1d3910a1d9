package dev.tessera.bench;

import dev.tessera.runtime.plan.Device;
import dev.tessera.runtime.transport.ElementType;
import dev.tessera.runtime.transport.TensorBuffer;
import dev.tessera.worker.transport.AeronPeer;
import dev.tessera.worker.transport.AeronSettings;
import dev.tessera.worker.transport.AeronTransport;
import io.aeron.Aeron;
import io.aeron.ExclusivePublication;
import io.aeron.Subscription;
import io.aeron.driver.MediaDriver;
import io.aeron.logbuffer.BufferClaim;
import io.aeron.logbuffer.FragmentHandler;
import java.lang.management.ManagementFactory;
import java.net.DatagramSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Point-to-point throughput of the Aeron tensor transport between two processes, 4 KiB to 64 MiB,
 * next to a raw Aeron publication/subscription moving the same bytes the same way (MTU-sized
 * {@code tryClaim} frames copied from a source buffer, fragments copied into a destination
 * buffer: no header, no rendezvous, no futures) with the same driver settings and channel
 * parameters, in the same run, alternating run by run. Also one-way latency of a 4 KiB tensor
 * (half a ping-pong round trip). This process is the sender; it starts the receiver as a second
 * java process with the same class path and JVM flags.
 *
 * <p>{@code java -cp ... dev.tessera.bench.AeronTransportBenchmark [ipc|udp|both] [repeats] [warm-ups] [MiB per run]
 * [idle strategy]}
 */
public final class AeronTransportBenchmark {
    private static final int[] SIZES = {4 << 10, 64 << 10, 1 << 20, 16 << 20, 64 << 20};
    private static final int RAW_OUT = 3000;
    private static final int RAW_BACK = 3001;
    private static final int PINGS = 2000;

    private final boolean sender;
    private final AeronSettings settings;
    private final AeronTransport transport;
    private final Device self;
    private final Device other;
    private final Aeron raw;
    private final ExclusivePublication rawOut;
    private final Subscription rawIn;
    private final IdleStrategy idle;
    private final BufferClaim claim = new BufferClaim();
    private final TensorBuffer tiny = TensorBuffer.allocate(ElementType.I32, 1);
    private long nextId;
    private int preparedSize;
    private TensorBuffer[] buffers;
    private UnsafeBuffer source;

    private AeronTransportBenchmark(boolean sender, AeronSettings settings, List<AeronPeer> peers, String rawOutChannel,
            String rawInChannel, Path driverDirectory) {
        this.sender = sender;
        this.settings = settings;
        this.transport = AeronTransport.start(settings, peers, sender ? 0 : 1);
        this.self = peers.get(sender ? 0 : 1).devices().get(0);
        this.other = peers.get(sender ? 1 : 0).devices().get(0);
        Path dir = driverDirectory != null ? driverDirectory : transport.driverDirectory();
        this.raw = Aeron.connect(new Aeron.Context().aeronDirectoryName(dir.toString()));
        this.rawOut = raw.addExclusivePublication(rawOutChannel, sender ? RAW_OUT : RAW_BACK);
        this.rawIn = raw.addSubscription(rawInChannel, sender ? RAW_BACK : RAW_OUT);
        this.idle = settings.newIdleStrategy();
        while (!rawOut.isConnected() || !rawIn.isConnected()) {
            idle.idle(0);
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("--receiver")) {
            receiver(args);
            return;
        }
        String kinds = args.length > 0 ? args[0] : "both";
        int repeats = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        int warmups = args.length > 2 ? Integer.parseInt(args[2]) : 2;
        long bytesPerRun = (args.length > 3 ? Long.parseLong(args[3]) : 256) << 20;
        String idle = args.length > 4 ? args[4] : AeronSettings.defaults(7).idleStrategy();
        System.out.println("Aeron transport benchmark: " + repeats + " measured runs after " + warmups + " warm-ups, "
                + (bytesPerRun >> 20) + " MiB per run, settings " + settings(idle));
        for (String kind : kinds.equals("both") ? List.of("ipc", "udp") : List.of(kinds)) {
            sender(kind, repeats, warmups, bytesPerRun, idle);
        }
    }

    private static AeronSettings settings(String idle) {
        return AeronSettings.defaults(7).withIdleStrategy(idle).check();
    }

    private static void sender(String kind, int repeats, int warmups, long bytesPerRun, String idle) throws Exception {
        boolean ipc = kind.equals("ipc");
        int portA = freePort();
        int portB = freePort();
        int rawA = freePort();
        int rawB = freePort();
        AeronSettings base = settings(idle);
        Path shared = base.driverRoot().resolve("tessera-bench-driver-" + ProcessHandle.current().pid());
        MediaDriver driver = ipc ? AeronTransport.launchSharedDriver(base, shared) : null;
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        command.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), AeronTransportBenchmark.class.getName(),
                "--receiver", kind, "" + portA, "" + portB, "" + rawA, "" + rawB, shared.toString(), "" + repeats,
                "" + warmups, "" + bytesPerRun, idle));
        Process child = new ProcessBuilder(command).inheritIO().start();
        try {
            AeronTransportBenchmark bench = create(true, kind, portA, portB, rawA, rawB, shared, base);
            System.out.printf(Locale.ROOT, "%n%s (%s, term %d MiB, mtu %d, chunk %d bytes)%n", kind.toUpperCase(Locale.ROOT),
                    ipc ? "shared driver" : "embedded driver per process, loopback", base.termLength() >> 20, base.mtu(),
                    base.chunkBytes());
            System.out.printf(Locale.ROOT, "%10s %8s %16s %16s %8s%n", "size", "messages", "Tessera MB/s", "raw Aeron MB/s",
                    "ratio");
            for (int size : SIZES) {
                int messages = (int) Math.max(4, bytesPerRun / size);
                double[] tessera = new double[repeats];
                double[] rawRates = new double[repeats];
                for (int r = -warmups; r < repeats; r++) {
                    double t = bench.tessera(size, messages);
                    double w = bench.raw(size, messages);
                    if (r >= 0) {
                        tessera[r] = (double) size * messages * 1e3 / t;
                        rawRates[r] = (double) size * messages * 1e3 / w;
                    }
                }
                double mt = median(tessera);
                double mr = median(rawRates);
                System.out.printf(Locale.ROOT, "%10s %8d %16.0f %16.0f %7.0f%%%n", human(size), messages, mt, mr,
                        100 * mt / mr);
            }
            double[] latency = bench.latency(4 << 10);
            System.out.printf(Locale.ROOT, "4 KiB one-way latency (median of %d ping-pongs / 2): Tessera %.1f us, raw Aeron "
                    + "%.1f us%n", PINGS, latency[0] / 1e3, latency[1] / 1e3);
            bench.close();
            child.waitFor();
        } finally {
            child.destroyForcibly();
            if (driver != null) {
                driver.close();
            }
        }
    }

    private static void receiver(String[] a) throws Exception {
        String kind = a[1];
        AeronTransportBenchmark bench = create(false, kind, Integer.parseInt(a[2]), Integer.parseInt(a[3]),
                Integer.parseInt(a[4]), Integer.parseInt(a[5]), Path.of(a[6]), settings(a[10]));
        int repeats = Integer.parseInt(a[7]);
        int warmups = Integer.parseInt(a[8]);
        long bytesPerRun = Long.parseLong(a[9]);
        for (int size : SIZES) {
            int messages = (int) Math.max(4, bytesPerRun / size);
            for (int r = -warmups; r < repeats; r++) {
                bench.tessera(size, messages);
                bench.raw(size, messages);
            }
        }
        bench.latency(4 << 10);
        bench.close();
    }

    private static AeronTransportBenchmark create(boolean sender, String kind, int portA, int portB, int rawA, int rawB,
            Path shared, AeronSettings base) {
        boolean ipc = kind.equals("ipc");
        Device a = new Device(0, "cpu:0");
        Device b = new Device(1, "cpu:1");
        List<AeronPeer> peers = ipc
                ? List.of(AeronPeer.ipc("sender", 2000, List.of(a)), AeronPeer.ipc("receiver", 2001, List.of(b)))
                : List.of(AeronPeer.udp("sender", "127.0.0.1", portA, List.of(a)),
                        AeronPeer.udp("receiver", "127.0.0.1", portB, List.of(b)));
        String params = "term-length=" + base.termLength() + "|mtu=" + base.mtu();
        String udpOut = "aeron:udp?endpoint=127.0.0.1:" + (sender ? rawB : rawA) + "|" + params + "|so-sndbuf="
                + base.socketBufferBytes();
        String udpIn = "aeron:udp?endpoint=127.0.0.1:" + (sender ? rawA : rawB) + "|so-rcvbuf=" + base.socketBufferBytes();
        AeronSettings settings = ipc ? base.withExternalDriver(shared) : base;
        return new AeronTransportBenchmark(sender, settings, peers, ipc ? "aeron:ipc?" + params : udpOut,
                ipc ? "aeron:ipc" : udpIn, ipc ? shared : null);
    }

    /** Moves {@code messages} tensors of {@code size} bytes, a window of them in flight; returns nanoseconds. */
    private double tessera(int size, int messages) {
        int window = window(size);
        prepare(size);
        long first = nextId;
        nextId += messages + 1;
        CompletableFuture<?>[] inFlight = new CompletableFuture<?>[window];
        long start = System.nanoTime();
        for (int i = 0; i < messages; i++) {
            int slot = i % window;
            if (inFlight[slot] != null) {
                inFlight[slot].join();
            }
            inFlight[slot] = sender ? transport.send(self, other, first + i, buffers[0])
                    : transport.receive(self, other, first + i, buffers[slot]);
        }
        CompletableFuture.allOf(Arrays.stream(inFlight).filter(f -> f != null).toArray(CompletableFuture[]::new)).join();
        long ack = first + messages;
        (sender ? transport.receive(self, other, ack, tiny) : transport.send(self, other, ack, tiny)).join();
        return System.nanoTime() - start;
    }

    private static int window(int size) {
        return Math.max(2, Math.min(16, (128 << 20) / size));
    }

    /** Buffers of {@code size} bytes, allocated once per size (like a register's), not per run. */
    private void prepare(int size) {
        if (preparedSize == size) {
            return;
        }
        buffers = null;
        source = null;
        System.gc();
        buffers = new TensorBuffer[sender ? 1 : window(size)];
        for (int i = 0; i < buffers.length; i++) {
            buffers[i] = TensorBuffer.allocate(ElementType.I32, size / 4);
        }
        source = new UnsafeBuffer(TensorBuffer.allocate(ElementType.I32, size / 4).region());
        preparedSize = size;
    }

    /** The same bytes over a raw publication: MTU-sized claimed frames, copied in and out; returns nanoseconds. */
    private double raw(int size, int messages) {
        prepare(size);
        long start = System.nanoTime();
        if (sender) {
            int frame = rawOut.maxPayloadLength();
            for (int i = 0; i < messages; i++) {
                for (int at = 0; at < size; at += frame) {
                    int length = Math.min(frame, size - at);
                    while (rawOut.tryClaim(length, claim) < 0) {
                        idle.idle(0);
                    }
                    claim.buffer().putBytes(claim.offset(), source, at, length);
                    claim.commit();
                }
            }
            awaitFragments(1, null);
        } else {
            awaitFragments((long) size * messages, source);
            while (rawOut.offer(source, 0, 4) < 0) {
                idle.idle(0);
            }
        }
        return System.nanoTime() - start;
    }

    /** Polls until {@code bytes} arrived (copying them into {@code into}, message after message), or one fragment when into is null. */
    private void awaitFragments(long bytes, UnsafeBuffer into) {
        long[] state = new long[2];
        FragmentHandler handler = (DirectBuffer buffer, int offset, int length, io.aeron.logbuffer.Header header) -> {
            if (into != null) {
                into.putBytes((int) state[1], buffer, offset, length);
                state[1] = (state[1] + length) % into.capacity();
            }
            state[0] += into == null ? 1 : length;
        };
        while (state[0] < bytes) {
            idle.idle(rawIn.poll(handler, 64));
        }
    }

    /** Median one-way latency in ns of a {@code size}-byte tensor: {Tessera, raw}. */
    private double[] latency(int size) {
        TensorBuffer buffer = TensorBuffer.allocate(ElementType.I32, size / 4);
        UnsafeBuffer bytes = new UnsafeBuffer(buffer.region());
        long[] tessera = new long[PINGS];
        long[] rawTimes = new long[PINGS];
        for (int k = -200; k < PINGS; k++) {
            long id = nextId;
            nextId += 2;
            long start = System.nanoTime();
            if (sender) {
                CompletableFuture<Void> back = transport.receive(self, other, id + 1, buffer);
                transport.send(self, other, id, buffer).join();
                back.join();
            } else {
                transport.receive(self, other, id, buffer).join();
                transport.send(self, other, id + 1, buffer).join();
            }
            long t = System.nanoTime() - start;
            start = System.nanoTime();
            if (sender) {
                while (rawOut.offer(bytes, 0, size) < 0) {
                    idle.idle(0);
                }
                awaitFragments(1, null);
            } else {
                awaitFragments(1, null);
                while (rawOut.offer(bytes, 0, size) < 0) {
                    idle.idle(0);
                }
            }
            long w = System.nanoTime() - start;
            if (k >= 0) {
                tessera[k] = t;
                rawTimes[k] = w;
            }
        }
        Arrays.sort(tessera);
        Arrays.sort(rawTimes);
        return new double[] {tessera[PINGS / 2] / 2.0, rawTimes[PINGS / 2] / 2.0};
    }

    private void close() {
        raw.close();
        transport.close();
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }

    private static String human(int bytes) {
        return bytes >= 1 << 20 ? (bytes >> 20) + " MiB" : (bytes >> 10) + " KiB";
    }

    private static int freePort() throws java.io.IOException {
        try (DatagramSocket socket = new DatagramSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
