package dev.tessera.plan.simulate;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * How fast one modeled device computes, moves memory and talks to its pipeline neighbour, and how
 * much memory it has: what turns an op's FLOPs and bytes into seconds for the simulator.
 *
 * <p>An op takes {@link #computeSeconds} = max(flops / matmulFlopsPerSecond, bytes /
 * memoryBytesPerSecond) (the roofline: a large matmul is bound by its FLOPs, an elementwise op by the
 * bytes it reads and writes); a transfer takes {@link #transferSeconds} = linkLatencySeconds + bytes /
 * linkBytesPerSecond.
 *
 * <p>The GPU profiles are datasheet peaks scaled by stated fractions ({@link #SUSTAINED_MATMUL_FRACTION},
 * {@link #SUSTAINED_MEMORY_FRACTION}), because no kernel sustains the peak; the CPU profile is measured
 * on the machine by {@code tessera calibrate} and read back with {@link #read}.
 *
 * <p>File form ({@link #toText}, {@link #parse}): one {@code key = value} per line, {@code #} starts a
 * comment; keys {@code name}, {@code matmul_flops_per_second}, {@code memory_bytes_per_second},
 * {@code link_bytes_per_second}, {@code link_latency_seconds}, {@code memory_bytes}, and optionally
 * {@code source} (free text); other keys (a calibration's per-size rates) are kept in {@code extra}.
 *
 * @param source where the figures come from, in words
 */
public record DeviceProfile(String name, double matmulFlopsPerSecond, double memoryBytesPerSecond,
        double linkBytesPerSecond, double linkLatencySeconds, double memoryBytes, String source,
        Map<String, String> extra) {

    /** Sustained share of the datasheet's dense matmul peak assumed for large bf16 GEMMs. */
    public static final double SUSTAINED_MATMUL_FRACTION = 0.5;
    /** Sustained share of the datasheet's HBM bandwidth assumed for elementwise ops. */
    public static final double SUSTAINED_MEMORY_FRACTION = 0.8;
    /** Per-transfer latency assumed for an NVLink point-to-point send (not a datasheet figure). */
    public static final double NVLINK_LATENCY_SECONDS = 1e-5;

    private static final List<String> REQUIRED = List.of("name", "matmul_flops_per_second",
            "memory_bytes_per_second", "link_bytes_per_second", "link_latency_seconds", "memory_bytes");

    public DeviceProfile {
        extra = Map.copyOf(extra);
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("a device profile needs a name");
        }
        if (!(matmulFlopsPerSecond > 0) || !(memoryBytesPerSecond > 0) || !(linkBytesPerSecond > 0)
                || !(linkLatencySeconds >= 0) || !(memoryBytes > 0)
                || Double.isInfinite(matmulFlopsPerSecond + memoryBytesPerSecond + linkBytesPerSecond
                        + linkLatencySeconds + memoryBytes)) {
            throw new IllegalArgumentException("device profile " + name + ": rates and memory must be finite and "
                    + "positive and the link latency at least 0, got " + matmulFlopsPerSecond + " FLOP/s, "
                    + memoryBytesPerSecond + " B/s memory, " + linkBytesPerSecond + " B/s link, " + linkLatencySeconds
                    + " s latency, " + memoryBytes + " B memory");
        }
    }

    /**
     * NVIDIA A100 80GB SXM, from NVIDIA's A100 datasheet: 312 TFLOP/s bf16 dense Tensor Core, 2,039 GB/s
     * HBM2e (taken as 2.0 TB/s), NVLink 600 GB/s total, i.e. 300 GB/s each way, 80 GB. Sustained: 50% of
     * the matmul peak, 80% of HBM; the link at its one-way figure; 10 us per transfer.
     */
    public static DeviceProfile a100() {
        return new DeviceProfile("a100", SUSTAINED_MATMUL_FRACTION * 312e12, SUSTAINED_MEMORY_FRACTION * 2.0e12,
                300e9, NVLINK_LATENCY_SECONDS, 80e9, "NVIDIA A100 80GB SXM datasheet (312 TFLOP/s bf16 dense, "
                        + "2.0 TB/s HBM2e, NVLink 600 GB/s = 300 GB/s each way); sustained 50% of the matmul peak, "
                        + "80% of HBM; 10 us per transfer assumed", Map.of());
    }

    /**
     * NVIDIA H100 SXM5 80GB, from NVIDIA's H100 datasheet: 989 TFLOP/s bf16 dense Tensor Core (1,979
     * with sparsity), 3.35 TB/s HBM3, NVLink 900 GB/s total, i.e. 450 GB/s each way, 80 GB. Same fractions
     * as {@link #a100()}.
     */
    public static DeviceProfile h100() {
        return new DeviceProfile("h100", SUSTAINED_MATMUL_FRACTION * 989e12, SUSTAINED_MEMORY_FRACTION * 3.35e12,
                450e9, NVLINK_LATENCY_SECONDS, 80e9, "NVIDIA H100 SXM datasheet (989 TFLOP/s bf16 dense, 3.35 TB/s "
                        + "HBM3, NVLink 900 GB/s = 450 GB/s each way); sustained 50% of the matmul peak, 80% of HBM; "
                        + "10 us per transfer assumed", Map.of());
    }

    /** The built-in profile called {@code name} (a100, h100, case-insensitive), or null. */
    public static DeviceProfile builtIn(String name) {
        return switch (name.strip().toLowerCase(Locale.ROOT)) {
            case "a100" -> a100();
            case "h100" -> h100();
            default -> null;
        };
    }

    /** Roofline time of one op: the larger of its FLOPs at the matmul rate and its bytes at the memory rate. */
    public double computeSeconds(double flops, double bytes) {
        return Math.max(flops / matmulFlopsPerSecond, bytes / memoryBytesPerSecond);
    }

    /** Time of one point-to-point transfer of {@code bytes} to a neighbour; 0 bytes cost nothing. */
    public double transferSeconds(double bytes) {
        return bytes <= 0 ? 0 : linkLatencySeconds + bytes / linkBytesPerSecond;
    }

    /** The file form: documented {@code key = value} lines, then the extra keys in order. */
    public String toText() {
        StringBuilder text = new StringBuilder();
        text.append("# Tessera device profile: the rates the simulator turns FLOPs and bytes into seconds with.\n");
        text.append("# op time = max(flops / matmul_flops_per_second, bytes / memory_bytes_per_second)\n");
        text.append("# transfer time = link_latency_seconds + bytes / link_bytes_per_second\n");
        text.append("name = ").append(name).append('\n');
        text.append("source = ").append(source.replace('\n', ' ')).append('\n');
        text.append("matmul_flops_per_second = ").append(number(matmulFlopsPerSecond)).append('\n');
        text.append("memory_bytes_per_second = ").append(number(memoryBytesPerSecond)).append('\n');
        text.append("link_bytes_per_second = ").append(number(linkBytesPerSecond)).append('\n');
        text.append("link_latency_seconds = ").append(number(linkLatencySeconds)).append('\n');
        text.append("memory_bytes = ").append(number(memoryBytes)).append('\n');
        extra.entrySet().stream().sorted(Map.Entry.comparingByKey())
                .forEach(e -> text.append(e.getKey()).append(" = ").append(e.getValue()).append('\n'));
        return text.toString();
    }

    /**
     * Reads the file form.
     *
     * @throws IllegalArgumentException naming the line or key that is wrong (malformed line, a key given
     *     twice, a missing key, a value that is not a number)
     */
    public static DeviceProfile parse(String text) {
        Map<String, String> values = new LinkedHashMap<>();
        int lineNumber = 0;
        for (String raw : text.split("\n", -1)) {
            lineNumber++;
            String line = raw.strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            int equals = line.indexOf('=');
            if (equals <= 0) {
                throw new IllegalArgumentException("device profile line " + lineNumber + " '" + line
                        + "' is not 'key = value'");
            }
            String key = line.substring(0, equals).strip();
            if (values.put(key, line.substring(equals + 1).strip()) != null) {
                throw new IllegalArgumentException("device profile key " + key + " is given twice (line " + lineNumber + ")");
            }
        }
        for (String key : REQUIRED) {
            if (!values.containsKey(key)) {
                throw new IllegalArgumentException("device profile has no " + key + "; give all of " + REQUIRED
                        + " (tessera calibrate writes them)");
            }
        }
        Map<String, String> extra = new LinkedHashMap<>(values);
        REQUIRED.forEach(extra::remove);
        extra.remove("source");
        return new DeviceProfile(values.get("name"), value(values, "matmul_flops_per_second"),
                value(values, "memory_bytes_per_second"), value(values, "link_bytes_per_second"),
                value(values, "link_latency_seconds"), value(values, "memory_bytes"),
                values.getOrDefault("source", "profile file"), extra);
    }

    /** {@link #parse} of the file at {@code path}; an unreadable file is an IOException. */
    public static DeviceProfile read(Path path) throws IOException {
        try {
            return parse(Files.readString(path, StandardCharsets.UTF_8));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(path + ": " + e.getMessage(), e);
        }
    }

    private static double value(Map<String, String> values, String key) {
        try {
            return Double.parseDouble(values.get(key));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("device profile " + key + " = " + values.get(key) + " is not a number");
        }
    }

    private static String number(double value) {
        return String.format(Locale.ROOT, "%.6g", value);
    }
}
