package dev.tessera.bench;

import dev.tessera.graph.Shape;
import dev.tessera.runtime.plan.Device;
import dev.tessera.runtime.transport.ElementType;
import dev.tessera.runtime.transport.SentBytes;
import dev.tessera.runtime.transport.TensorBuffer;
import dev.tessera.runtime.transport.TransportCommunicator;
import dev.tessera.sbp.Sbp;
import dev.tessera.sbp.boxing.CollectiveAlgorithm;
import dev.tessera.sbp.boxing.Conversion;
import dev.tessera.sbp.boxing.GroupParts;
import dev.tessera.worker.collective.CollectiveMember;
import dev.tessera.worker.collective.Collectives;
import dev.tessera.worker.transport.AeronPeer;
import dev.tessera.worker.transport.AeronSettings;
import dev.tessera.worker.transport.AeronTransport;
import io.aeron.driver.MediaDriver;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * Ring all-reduce bus bandwidth over the Aeron transport between p worker processes of this
 * machine (one shared media driver, IPC), next to the point-to-point figure measured in the same
 * processes with the same driver settings, alternating repeat by repeat.
 *
 * <p>All-reduce: every process runs its {@link CollectiveMember} of a ring all-reduce (P to B)
 * of an F32 tensor over a {@link TransportCommunicator}, as a plan's member actor does, with the
 * plan's default chunk of 1 MiB per ring message; several back to back after a barrier, timed on
 * rank 0 from the barrier to the end of its last run. Bus bandwidth is
 * {@code 2(p-1)/p x bytes / time}: the bytes each member sends and receives, so it is comparable
 * with what one link carries. Point to point: rank 0 streams tensors of the same size to rank 1
 * with a window of receives posted ahead (as {@link AeronTransportBenchmark} does), the other
 * ranks idle; bytes / time.
 *
 * <p>This process is rank 0; it starts ranks 1..p-1 as java processes with the same class path
 * and JVM flags, for each p given.
 *
 * <p>Each all-reduce runs once per member window given ({@link CollectiveMember}: the rounds a
 * member keeps in flight; 1 posts, waits and reduces round by round), all in the same repeat, so
 * the windows are compared side by side.
 *
 * <p>{@code java -cp ... dev.tessera.bench.AllReduceBandwidthBenchmark [processes, e.g. 2,3,4] [repeats]
 * [warm-ups] [MiB moved per measurement] [chunk KiB] [windows, e.g. 1,8] [idle strategy]}
 */
public final class AllReduceBandwidthBenchmark {
    private static final int[] SIZES = {1 << 20, 4 << 20, 16 << 20, 64 << 20};
    private static final int BARRIER_GROUP = 1;
    private static final long P2P_IDS = 1L << 40;

    private final int processes;
    private final int rank;
    private final AeronTransport transport;
    private final List<Device> devices;
    private final ExecutorService thread = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "member");
        t.setDaemon(true);
        return t;
    });
    private final CollectiveMember barrier;
    private final CollectiveMember.Binding barrierBinding;
    private final TensorBuffer tiny = TensorBuffer.allocate(ElementType.F32, 1);
    private long nextP2pId = P2P_IDS;
    /** CPU nanoseconds this process spent in the last timed measurement. */
    private long lastCpu;
    /** Group id of the next member made; every rank makes its members in the same order. */
    private int nextGroup = BARRIER_GROUP + 1;

    private AllReduceBandwidthBenchmark(int processes, int rank, AeronSettings settings) {
        this.processes = processes;
        this.rank = rank;
        List<AeronPeer> peers = new ArrayList<>();
        List<Device> group = new ArrayList<>();
        for (int i = 0; i < processes; i++) {
            Device device = new Device(i, "cpu:" + i);
            group.add(device);
            peers.add(AeronPeer.ipc("rank-" + i, 2000 + i, List.of(device)));
        }
        this.devices = List.copyOf(group);
        this.transport = AeronTransport.start(settings, peers, rank);
        GroupParts one = GroupParts.of(Conversion.ALL_REDUCE, Sbp.partialSum(), Sbp.broadcast(), Shape.of(1), processes);
        this.barrier = new CollectiveMember(Collectives.conversion(one, CollectiveAlgorithm.DIRECT, rank, 1),
                communicator(BARRIER_GROUP), ElementType.F32);
        this.barrierBinding = barrier.bind(TensorBuffer.allocate(ElementType.F32, 1), TensorBuffer.allocate(ElementType.F32, 1));
    }

    private TransportCommunicator communicator(int groupId) {
        return new TransportCommunicator(transport, groupId, devices, rank, new SentBytes(processes));
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("--rank")) {
            member(args);
            return;
        }
        int[] groupSizes = Arrays.stream((args.length > 0 ? args[0] : "2,3,4").split(",")).mapToInt(Integer::parseInt)
                .toArray();
        int repeats = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        int warmups = args.length > 2 ? Integer.parseInt(args[2]) : 2;
        long bytesPerMeasurement = (args.length > 3 ? Long.parseLong(args[3]) : 256) << 20;
        int chunkBytes = (args.length > 4 ? Integer.parseInt(args[4]) : 1024) << 10;
        String windows = args.length > 5 ? args[5] : "1," + CollectiveMember.DEFAULT_WINDOW;
        String idle = args.length > 6 ? args[6] : AeronSettings.defaults(7).idleStrategy();
        AeronSettings base = settings(idle);
        System.out.printf(Locale.ROOT, "All-reduce bus bandwidth over Aeron IPC: %d measured repeats after %d warm-ups, "
                + "about %d MiB per measurement, ring chunk %d KiB, term %d MiB, mtu %d, idle %s, %d cores, load %s%n",
                repeats, warmups, bytesPerMeasurement >> 20, chunkBytes >> 10, base.termLength() >> 20, base.mtu(),
                base.idleStrategy(), Runtime.getRuntime().availableProcessors(), load());
        for (int p : groupSizes) {
            if (p < 2) {
                throw new IllegalArgumentException("an all-reduce needs at least 2 processes, got " + p);
            }
            leader(p, repeats, warmups, bytesPerMeasurement, chunkBytes, windows, idle, base);
        }
        System.out.println("load at the end: " + load());
    }

    private static void leader(int p, int repeats, int warmups, long bytesPerMeasurement, int chunkBytes,
            String windows, String idle, AeronSettings base) throws Exception {
        Path shared = base.driverRoot().resolve("tessera-allreduce-driver-" + ProcessHandle.current().pid() + "-" + p);
        MediaDriver driver = AeronTransport.launchSharedDriver(base, shared);
        List<Process> children = new ArrayList<>();
        try {
            for (int r = 1; r < p; r++) {
                List<String> command = new ArrayList<>(
                        List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
                command.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
                command.addAll(List.of("-cp", System.getProperty("java.class.path"),
                        AllReduceBandwidthBenchmark.class.getName(), "--rank", "" + r, "" + p, shared.toString(),
                        "" + repeats, "" + warmups, "" + bytesPerMeasurement, "" + chunkBytes, windows, idle));
                children.add(new ProcessBuilder(command).inheritIO().start());
            }
            AllReduceBandwidthBenchmark bench = new AllReduceBandwidthBenchmark(p, 0, base.withExternalDriver(shared));
            System.out.printf(Locale.ROOT, "%n%d processes (cpu: CPU ms of rank 0's process per all-reduce and per "
                    + "point-to-point tensor sent)%n%10s %7s %7s %14s %14s %14s %8s %9s %9s%n", p, "size", "window", "runs",
                    "all-reduce ms", "bus MB/s", "p2p MB/s", "bus/p2p", "cpu AR", "cpu p2p");
            for (int size : SIZES) {
                bench.measure(size, repeats, warmups, bytesPerMeasurement, chunkBytes, windows(windows), true);
            }
            bench.close();
            for (Process child : children) {
                if (!child.waitFor(60, TimeUnit.SECONDS) || child.exitValue() != 0) {
                    throw new IllegalStateException("rank process " + child.pid() + " failed or did not end");
                }
            }
        } finally {
            children.forEach(Process::destroyForcibly);
            driver.close();
            deleteTree(shared);
        }
    }

    private static void member(String[] a) throws Exception {
        int rank = Integer.parseInt(a[1]);
        int p = Integer.parseInt(a[2]);
        Path shared = Path.of(a[3]);
        int repeats = Integer.parseInt(a[4]);
        int warmups = Integer.parseInt(a[5]);
        long bytesPerMeasurement = Long.parseLong(a[6]);
        int chunkBytes = Integer.parseInt(a[7]);
        AllReduceBandwidthBenchmark bench = new AllReduceBandwidthBenchmark(p, rank,
                settings(a[9]).withExternalDriver(shared));
        for (int size : SIZES) {
            bench.measure(size, repeats, warmups, bytesPerMeasurement, chunkBytes, windows(a[8]), false);
        }
        bench.close();
        System.exit(0);
    }

    private static int[] windows(String list) {
        return Arrays.stream(list.split(",")).mapToInt(Integer::parseInt).toArray();
    }

    private static AeronSettings settings(String idle) {
        return AeronSettings.defaults(7).withIdleStrategy(idle).check();
    }

    /** Every rank runs this for each size, in the same order; rank 0 prints. */
    private void measure(int size, int repeats, int warmups, long bytesPerMeasurement, int chunkBytes, int[] windows,
            boolean print) throws Exception {
        int elements = size / 4;
        int runs = (int) Math.max(2, bytesPerMeasurement / size);
        GroupParts parts = GroupParts.of(Conversion.ALL_REDUCE, Sbp.partialSum(), Sbp.broadcast(), Shape.of(elements),
                processes);
        TensorBuffer input = TensorBuffer.allocate(ElementType.F32, elements);
        for (int i = 0; i < elements; i++) {
            input.putFloat(i, (i % 1000) * 0.001f + rank);
        }
        TensorBuffer output = TensorBuffer.allocate(ElementType.F32, elements);
        CollectiveMember[] members = new CollectiveMember[windows.length];
        CollectiveMember.Binding[] bindings = new CollectiveMember.Binding[windows.length];
        for (int w = 0; w < windows.length; w++) {
            members[w] = new CollectiveMember(Collectives.conversion(parts, CollectiveAlgorithm.RING, rank, chunkBytes / 4),
                    communicator(nextGroup++), ElementType.F32, windows[w]);
            bindings[w] = members[w].bind(input, output);
        }
        int window = Math.max(2, Math.min(16, (128 << 20) / size));
        TensorBuffer[] p2pBuffers = new TensorBuffer[rank == 1 ? window : rank == 0 ? 1 : 0];
        for (int i = 0; i < p2pBuffers.length; i++) {
            p2pBuffers[i] = TensorBuffer.allocate(ElementType.F32, elements);
        }
        double[][] allReduce = new double[windows.length][repeats];
        double[][] allReduceCpu = new double[windows.length][repeats];
        double[] p2p = new double[repeats];
        double[] p2pCpu = new double[repeats];
        for (int r = -warmups; r < repeats; r++) {
            for (int w = 0; w < windows.length; w++) {
                double t = timedAllReduce(members[w], bindings[w], runs);
                if (r >= 0) {
                    allReduce[w][r] = t / runs;
                    allReduceCpu[w][r] = (double) lastCpu / runs;
                }
                check(output, elements);
                for (int i = 0; i < elements; i++) {
                    output.putFloat(i, Float.NaN);
                }
            }
            double t = timedPointToPoint(p2pBuffers, runs, window);
            if (r >= 0) {
                p2p[r] = (double) size * runs * 1e3 / t;
                p2pCpu[r] = (double) lastCpu / runs;
            }
        }
        if (print) {
            double link = median(p2p);
            for (int w = 0; w < windows.length; w++) {
                double perRun = median(allReduce[w]);
                double bus = 2.0 * (processes - 1) / processes * size * 1e3 / perRun;
                System.out.printf(Locale.ROOT, "%10s %7d %7d %14.2f %14.0f %14.0f %7.0f%% %9.2f %9.2f   (all-reduce ms "
                        + "min..max %.2f..%.2f)%n", (size >> 20) + " MiB", windows[w], runs, perRun / 1e6, bus, link,
                        100 * bus / link, median(allReduceCpu[w]) / 1e6, median(p2pCpu) / 1e6, min(allReduce[w]) / 1e6,
                        max(allReduce[w]) / 1e6);
            }
        }
    }

    /** Nanoseconds of {@code runs} back-to-back all-reduces after a barrier (rank 0's clock). */
    private double timedAllReduce(CollectiveMember member, CollectiveMember.Binding binding, int runs) throws Exception {
        barrier();
        long cpu = processCpuNanos();
        long start = System.nanoTime();
        for (int i = 0; i < runs; i++) {
            member.run(binding, thread).get(120, TimeUnit.SECONDS);
        }
        long wall = System.nanoTime() - start;
        lastCpu = processCpuNanos() - cpu;
        return wall;
    }

    /** CPU time of this whole process (every thread, the media driver's too on rank 0). */
    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    /** Nanoseconds rank 0 needs to stream {@code runs} tensors to rank 1 and hear it received them all. */
    private double timedPointToPoint(TensorBuffer[] buffers, int runs, int window) throws Exception {
        barrier();
        long first = nextP2pId;
        nextP2pId += runs + 1;
        if (rank > 1) {
            return 1;
        }
        Device self = devices.get(rank);
        Device other = devices.get(1 - rank);
        CompletableFuture<?>[] inFlight = new CompletableFuture<?>[window];
        long cpu = processCpuNanos();
        long start = System.nanoTime();
        for (int i = 0; i < runs; i++) {
            int slot = i % window;
            if (inFlight[slot] != null) {
                inFlight[slot].get(120, TimeUnit.SECONDS);
            }
            inFlight[slot] = rank == 0 ? transport.send(self, other, first + i, buffers[0])
                    : transport.receive(self, other, first + i, buffers[slot]);
        }
        for (CompletableFuture<?> f : inFlight) {
            if (f != null) {
                f.get(120, TimeUnit.SECONDS);
            }
        }
        long ack = first + runs;
        (rank == 0 ? transport.receive(self, other, ack, tiny) : transport.send(self, other, ack, tiny))
                .get(120, TimeUnit.SECONDS);
        long wall = System.nanoTime() - start;
        lastCpu = processCpuNanos() - cpu;
        return wall;
    }

    private void barrier() throws Exception {
        barrier.run(barrierBinding, thread).get(120, TimeUnit.SECONDS);
    }

    /** Every member's output must be the sum of the p inputs (exact here: small integers plus a fraction). */
    private void check(TensorBuffer output, int elements) {
        for (int i = 0; i < elements; i += 997) {
            float expected = 0;
            for (int k = 0; k < processes; k++) {
                expected += (i % 1000) * 0.001f + k;
            }
            float actual = output.getFloat(i);
            if (Math.abs(actual - expected) > 1e-4f * Math.abs(expected) + 1e-5f) {
                throw new IllegalStateException("all-reduce on rank " + rank + " gave " + actual + " at element " + i
                        + ", expected " + expected);
            }
        }
    }

    private void close() {
        thread.shutdownNow();
        transport.close();
    }

    private static String load() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).trim();
        } catch (java.io.IOException e) {
            return "unknown";
        }
    }

    private static void deleteTree(Path root) throws java.io.IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (var paths = Files.walk(root)) {
            for (Path path : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        }
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }

    private static double min(double[] values) {
        return Arrays.stream(values).min().orElse(0);
    }

    private static double max(double[] values) {
        return Arrays.stream(values).max().orElse(0);
    }
}
