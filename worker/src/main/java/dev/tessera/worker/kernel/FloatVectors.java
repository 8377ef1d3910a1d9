package dev.tessera.worker.kernel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * SIMD arithmetic of the F32 element-wise and row kernels, on the JDK's Vector API
 * ({@code jdk.incubator.vector}; the JVM runs with {@code --add-modules jdk.incubator.vector},
 * which the parent pom's {@code tessera.jvm.flags} and the {@code tessera} script pass). On the
 * 2-core build machine a float GELU pass measured 1.8-1.9 ns per element this way against
 * 18-19 ns for the scalar double loop with {@code Math.exp}.
 *
 * <p>The species is fixed at 256 bits (8 floats) rather than the machine's preferred width, so
 * that every machine with AVX2 or wider computes the same floats: the lane count decides the
 * order of the partial sums of a row reduction, and processes of one job on different hosts must
 * agree bit for bit. Row sums are summed lane by lane in Java ({@link #sum}), never with
 * {@code reduceLanes}, whose order the API leaves to the implementation.
 *
 * <p>Kernels copy a direct buffer's floats into heap arrays in blocks ({@link #BLOCK}) and load
 * vectors from the arrays: loading vectors straight from ND4J's direct buffers crashed the JVM
 * once on JDK 17 (docs/performance.md), and the bulk copies cost about 0.1 ns per float.
 */
final class FloatVectors {
    static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_256;
    static final int LANES = SPECIES.length();
    /** Floats per block copied between a direct buffer and a kernel's heap arrays. */
    static final int BLOCK = 4096;

    private static final float LOG2_E = 1.44269504088896341f;
    /** ln 2 split in two, the high part with 12 significant bits so that n * LN2_HIGH is exact for |n| <= 128. */
    private static final float LN2_HIGH = 0.693359375f;
    private static final float LN2_LOW = (float) (Math.log(2) - 0.693359375);
    /** 1.5 * 2^23: adding it rounds a float of magnitude below 2^22 to an integer held in the low mantissa bits. */
    private static final float ROUNDING = 12582912f;
    private static final int ROUNDING_BITS = Float.floatToRawIntBits(ROUNDING);
    /** Below this e^x is under the smallest normal float; the result is 0. Above the upper bound it is clamped. */
    static final float EXP_MIN = -87.0f;
    static final float EXP_MAX = 88.0f;

    private FloatVectors() {
    }

    /** The length rounded up to whole vectors: kernels size their heap arrays with it. */
    static int padded(int length) {
        return (length + LANES - 1) / LANES * LANES;
    }

    /**
     * e^x per lane within 2 float ulps for x in [-87, 88]: x = n ln 2 + r with |r| <= ln 2 / 2,
     * e^r from its Taylor polynomial of degree 7 (truncation below 6e-9 relative), 2^n put into
     * the exponent bits. Below -87 the result is 0, above 88 it is e^88 (about 1.65e38); NaN stays
     * NaN. The kernels call it where the argument is at most 0 (softmax, cross-entropy) or where
     * a clamped large value still rounds the result correctly (GELU's 1 / (1 + e^u)).
     */
    static FloatVector exp(FloatVector x) {
        FloatVector clamped = x.max(EXP_MIN).min(EXP_MAX);
        FloatVector shifted = clamped.mul(LOG2_E).add(ROUNDING);
        FloatVector n = shifted.sub(ROUNDING);
        FloatVector r = clamped.sub(n.mul(LN2_HIGH)).sub(n.mul(LN2_LOW));
        FloatVector p = r.mul(1f / 5040).add(1f / 720);
        p = p.mul(r).add(1f / 120);
        p = p.mul(r).add(1f / 24);
        p = p.mul(r).add(1f / 6);
        p = p.mul(r).add(0.5f);
        p = p.mul(r).add(1f);
        p = p.mul(r).add(1f);
        IntVector exponent = shifted.reinterpretAsInts().sub(ROUNDING_BITS).add(127).lanewise(VectorOperators.LSHL, 23);
        FloatVector e = p.mul(exponent.reinterpretAsFloats());
        return e.blend(0f, x.lt(EXP_MIN));
    }

    /** The lanes of v summed in lane order, in double, so the order is the same on every machine. */
    static double sum(FloatVector v, float[] lanes) {
        v.intoArray(lanes, 0);
        double sum = 0;
        for (int i = 0; i < LANES; i++) {
            sum += lanes[i];
        }
        return sum;
    }
}
