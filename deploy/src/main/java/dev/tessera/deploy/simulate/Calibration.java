package dev.tessera.deploy.simulate;

import dev.tessera.plan.simulate.DeviceProfile;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.bytedeco.javacpp.Pointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Measures this machine with the kernels training uses (ND4J): the rate of square f32 gemms at a few
 * sizes and the bandwidth of a large f32 copy, each the median of {@code repeats} timed runs after
 * {@code warmups} untimed ones. The CPU {@link DeviceProfile} takes the best gemm median as its matmul
 * rate, the copy bandwidth (bytes read plus written per second) as its memory bandwidth and, since
 * virtual devices of one process exchange tensors by copying, as its link bandwidth too.
 *
 * @param sizes the gemm sizes n (n x n times n x n, 2n^3 FLOPs)
 * @param copyElements f32 elements of the copied array
 */
public record Calibration(List<Integer> sizes, long copyElements, int warmups, int repeats) {
    /** Link latency written into the CPU profile: an assumption, the planner's standard 20 us per message. */
    public static final double ASSUMED_LINK_LATENCY_SECONDS = 2e-5;

    /** What one calibration measured. */
    public record Result(Map<Integer, Double> gemmFlopsPerSecond, double copyBytesPerSecond, DeviceProfile profile) {
    }

    public Calibration {
        sizes = List.copyOf(sizes);
        if (sizes.isEmpty() || sizes.stream().anyMatch(n -> n < 1) || copyElements < 1 || warmups < 0 || repeats < 1) {
            throw new IllegalArgumentException("calibration needs gemm sizes of at least 1, at least 1 copied element "
                    + "and at least 1 timed repeat; got sizes " + sizes + ", " + copyElements + " elements, "
                    + repeats + " repeats");
        }
    }

    /** The default run: gemms of 256, 512 and 1024, a 16 Mi-element (64 MiB) copy, 2 warm-ups, 7 repeats. */
    public static Calibration standard() {
        return new Calibration(List.of(256, 512, 1024), 16L << 20, 2, 7);
    }

    public Result run() {
        Map<Integer, Double> gemm = new LinkedHashMap<>();
        for (int n : sizes) {
            INDArray a = Nd4j.rand(DataType.FLOAT, n, n);
            INDArray b = Nd4j.rand(DataType.FLOAT, n, n);
            INDArray c = Nd4j.zeros(DataType.FLOAT, n, n);
            double seconds = median(() -> Nd4j.gemm(a, b, c, false, false, 1.0, 0.0));
            gemm.put(n, 2.0 * n * n * (double) n / seconds);
        }
        INDArray source = Nd4j.rand(DataType.FLOAT, copyElements);
        INDArray target = Nd4j.zeros(DataType.FLOAT, copyElements);
        double copySeconds = median(() -> target.assign(source));
        double copy = 2.0 * 4 * copyElements / copySeconds;
        double best = gemm.values().stream().mapToDouble(Double::doubleValue).max().orElseThrow();
        Map<String, String> extra = new LinkedHashMap<>();
        gemm.forEach((n, rate) -> extra.put("gemm_" + n + "_flops_per_second", format(rate)));
        extra.put("copy_elements", Long.toString(copyElements));
        extra.put("repeats", Integer.toString(repeats));
        extra.put("available_processors", Integer.toString(Runtime.getRuntime().availableProcessors()));
        extra.put("measured_at", Instant.now().toString());
        long memory = Pointer.maxBytes() > 0 ? Pointer.maxBytes() : Runtime.getRuntime().maxMemory();
        DeviceProfile profile = new DeviceProfile("cpu", best, copy, copy, ASSUMED_LINK_LATENCY_SECONDS, memory,
                "tessera calibrate: ND4J f32 gemm (best median of sizes " + sizes + "), f32 copy bandwidth (read + "
                        + "write) as memory and link bandwidth, link latency assumed 20 us, memory = ND4J's off-heap "
                        + "limit", extra);
        return new Result(gemm, copy, profile);
    }

    /** Median seconds of {@code repeats} runs of {@code work} after {@code warmups}. */
    private double median(Runnable work) {
        for (int i = 0; i < warmups; i++) {
            work.run();
        }
        double[] seconds = new double[repeats];
        for (int i = 0; i < repeats; i++) {
            long start = System.nanoTime();
            work.run();
            seconds[i] = Math.max(1, System.nanoTime() - start) * 1e-9;
        }
        Arrays.sort(seconds);
        return repeats % 2 == 1 ? seconds[repeats / 2] : (seconds[repeats / 2 - 1] + seconds[repeats / 2]) / 2;
    }

    /** A line per measurement, for the command's output. */
    public static String summary(Result result) {
        List<String> lines = new ArrayList<>();
        result.gemmFlopsPerSecond().forEach((n, rate) -> lines.add(String.format(Locale.ROOT,
                "gemm %5d x %-5d f32: %8.2f GFLOP/s", n, n, rate / 1e9)));
        lines.add(String.format(Locale.ROOT, "copy f32 (read + write): %8.2f GB/s", result.copyBytesPerSecond() / 1e9));
        return String.join("\n", lines) + "\n";
    }

    private static String format(double value) {
        return String.format(Locale.ROOT, "%.6g", value);
    }
}
