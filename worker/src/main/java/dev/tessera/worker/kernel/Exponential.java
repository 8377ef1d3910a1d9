package dev.tessera.worker.kernel;

import java.math.BigDecimal;

/**
 * {@code e^x} in double for the exp-bound F32 kernels (softmax, GELU, cross-entropy), within
 * 1e-15 relative of {@code Math.exp} ({@code ExponentialTest}). On the build machine (one thread,
 * CPU time) a GELU loop over 2M floats took 5.6-7 ns per element with it against 10-11 with
 * {@code Math.exp}; a loop of nothing but exponentials gained less (12.8-14 against 14.2-14.3 ns). The reduction is {@code x = (64 m + j) ln 2 / 64 + r} with
 * |r| <= ln 2 / 128, so {@code e^x = 2^m 2^(j/64) e^r}: 2^(j/64) from a table of 64 doubles, e^r
 * from a degree-5 polynomial (truncation below 4e-17), 2^m added into the exponent bits. The
 * chain of dependent operations is short, so a loop overlaps several elements. An F32 kernel that
 * rounds its double result once gets the float it got with {@code Math.exp} except where the
 * double lands within about 1e-15 of a rounding boundary between two floats (one float ulp apart).
 */
final class Exponential {
    private static final int TABLE_BITS = 6;
    private static final int TABLE_SIZE = 1 << TABLE_BITS;
    private static final double[] TWO_TO_J_OVER_64 = new double[TABLE_SIZE];
    private static final double SIXTY_FOUR_OVER_LN2 = TABLE_SIZE / Math.log(2);
    /** ln 2 / 64 split so that {@code k * LN2_OVER_64_HIGH} is exact for the k of the fast range (|k| < 2^17). */
    private static final double LN2_OVER_64_HIGH;
    private static final double LN2_OVER_64_LOW;
    /** 1.5 * 2^52: adding it rounds a double of magnitude below 2^51 to an integer held in the low bits. */
    private static final double ROUNDING = 6755399441055744.0;
    private static final double OVERFLOW = 709.782712893384;
    private static final double UNDERFLOW = -745.1332191019412;

    static {
        for (int j = 0; j < TABLE_SIZE; j++) {
            TWO_TO_J_OVER_64[j] = StrictMath.pow(2, j / (double) TABLE_SIZE);
        }
        double ln2Over64 = Math.log(2) / TABLE_SIZE;
        // The high part keeps 24 significant bits, so k * LN2_OVER_64_HIGH is exact for |k| < 2^29.
        LN2_OVER_64_HIGH = Double.longBitsToDouble(Double.doubleToRawLongBits(ln2Over64) & 0xFFFFFFFFE0000000L);
        LN2_OVER_64_LOW = new BigDecimal("0.010830424696249145459644251897784008876").subtract(
                new BigDecimal(LN2_OVER_64_HIGH)).doubleValue();
    }

    private Exponential() {
    }

    static double exp(double x) {
        if (!(x < 709.0 && x > -708.0)) {
            return slowPath(x);
        }
        double shifted = x * SIXTY_FOUR_OVER_LN2 + ROUNDING;
        int k = (int) Double.doubleToRawLongBits(shifted);
        double kd = shifted - ROUNDING;
        double r = (x - kd * LN2_OVER_64_HIGH) - kd * LN2_OVER_64_LOW;
        double p = 1.0 / 120;
        p = p * r + 1.0 / 24;
        p = p * r + 1.0 / 6;
        p = p * r + 0.5;
        p = p * r + 1.0;
        p = p * r + 1.0;
        long scale = Double.doubleToRawLongBits(TWO_TO_J_OVER_64[k & (TABLE_SIZE - 1)]) + ((long) (k >> TABLE_BITS) << 52);
        return Double.longBitsToDouble(scale) * p;
    }

    /** NaN, overflow, and the ends of the range where 2^m in the exponent bits would not be a normal double. */
    private static double slowPath(double x) {
        if (Double.isNaN(x) || x >= OVERFLOW) {
            return x >= OVERFLOW ? Double.POSITIVE_INFINITY : x;
        }
        return x <= UNDERFLOW ? 0.0 : Math.exp(x);
    }
}
