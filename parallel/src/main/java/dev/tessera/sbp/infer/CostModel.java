package dev.tessera.sbp.infer;

/**
 * How fast one device computes and communicates, to weigh a signature's FLOPs against the bytes
 * its boxing sends and the fixed cost of each collective ({@code secondsPerCollective}: the
 * latency of a message round, and on the runtime the actors and kernel calls it takes), which
 * keeps tiny tensors (a scalar squared norm) from being split only to be reduced again.
 */
public record CostModel(double flopsPerSecond, double bytesPerSecond, double secondsPerCollective) {
    /** Latency of one collective in {@link #standard()}: tens of microseconds on a 10 Gbit/s network. */
    public static final double STANDARD_COLLECTIVE_SECONDS = 2e-5;

    public CostModel {
        if (!(flopsPerSecond > 0) || !(bytesPerSecond > 0) || !(secondsPerCollective >= 0)) {
            throw new IllegalArgumentException("cost model rates must be positive and the collective latency at "
                    + "least 0, got " + flopsPerSecond + " FLOP/s, " + bytesPerSecond + " bytes/s and "
                    + secondsPerCollective + " s per collective");
        }
    }

    /** Rates with the standard collective latency. */
    public CostModel(double flopsPerSecond, double bytesPerSecond) {
        this(flopsPerSecond, bytesPerSecond, STANDARD_COLLECTIVE_SECONDS);
    }

    /** A CPU core's order of magnitude (10 GFLOP/s), a 10 Gbit/s link (1.25 GB/s), 20 us per collective. */
    public static CostModel standard() {
        return new CostModel(1e10, 1.25e9, STANDARD_COLLECTIVE_SECONDS);
    }

    /** Time of {@code collectives} conversions that send {@code bytes} from the busiest device. */
    public double communicationSeconds(double bytes, int collectives) {
        return bytes / bytesPerSecond + collectives * secondsPerCollective;
    }

    /**
     * The fixed cost of a conversion that sends nothing (a local slice, a zero-fill): a small
     * op of its own on the device, a hundredth of a collective's latency. Were it free, an op
     * that saves nothing by splitting (a reshape of a replicated weight) would switch layouts
     * anyway and leave its consumer a collective to switch back; any split that saves real work
     * still pays for it.
     */
    public double localConversionSeconds() {
        return secondsPerCollective / 100;
    }

    public double seconds(double flops, double bytes) {
        return flops / flopsPerSecond + bytes / bytesPerSecond;
    }
}
