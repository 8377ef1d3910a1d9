package dev.tessera.sbp.infer;

import java.util.Locale;

/**
 * What one training iteration under an SBP assignment costs on its busiest device, as
 * {@link PlanEvaluator} estimates it.
 *
 * @param computeSeconds local FLOPs of every op run in the iteration over the device's FLOP rate
 * @param communicationSeconds bytes the inserted boxing sends from the busiest device over the link
 *     rate, plus the cost model's latency per collective
 * @param persistentBytes parameters, optimizer state and gradient accumulators held across iterations
 * @param activationBytes data inputs and every op output of one micro-batch, without buffer reuse
 * @param boxingBytes the outputs of the inserted conversions, in their target layouts
 */
public record PlanEstimate(double computeSeconds, double communicationSeconds, long persistentBytes,
        long activationBytes, long boxingBytes) {

    /** Compute plus communication, nothing overlapped: the objective of the auto-parallel search. */
    public double iterationSeconds() {
        return computeSeconds + communicationSeconds;
    }

    /** Peak memory of the busiest device: everything above is live at once (an upper bound). */
    public long peakMemoryBytes() {
        return persistentBytes + activationBytes + boxingBytes;
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "iteration %.3f ms (compute %.3f ms, communication %.3f ms), peak memory %s per device "
                + "(persistent %s, activations %s, conversions %s)", iterationSeconds() * 1e3, computeSeconds * 1e3,
                communicationSeconds * 1e3, bytes(peakMemoryBytes()), bytes(persistentBytes), bytes(activationBytes),
                bytes(boxingBytes));
    }

    /** Bytes in binary units, e.g. {@code 1.50 MiB}. */
    public static String bytes(double bytes) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
        int unit = 0;
        double value = bytes;
        while (Math.abs(value) >= 1024 && unit < units.length - 1) {
            value /= 1024;
            unit++;
        }
        return unit == 0 ? String.format(Locale.ROOT, "%.0f B", value) : String.format(Locale.ROOT, "%.2f %s", value, units[unit]);
    }
}
