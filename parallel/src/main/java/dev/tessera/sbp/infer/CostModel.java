package dev.tessera.sbp.infer;

/**
 * How fast one device computes and communicates, to weigh a signature's FLOPs against the bytes
 * its boxing sends. Only the ratio matters to the choice between signatures.
 */
public record CostModel(double flopsPerSecond, double bytesPerSecond) {
    public CostModel {
        if (!(flopsPerSecond > 0) || !(bytesPerSecond > 0)) {
            throw new IllegalArgumentException("cost model rates must be positive, got " + flopsPerSecond
                    + " FLOP/s and " + bytesPerSecond + " bytes/s");
        }
    }

    /** A CPU core's order of magnitude (10 GFLOP/s) and a 10 Gbit/s link (1.25 GB/s). */
    public static CostModel standard() {
        return new CostModel(1e10, 1.25e9);
    }

    public double seconds(double flops, double bytes) {
        return flops / flopsPerSecond + bytes / bytesPerSecond;
    }
}
