package dev.tessera.worker.kernel;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.graph.DType;
import dev.tessera.optim.AdamWUpdate;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The F32 AdamW kernel (float arithmetic, as PyTorch's) against the update written straight from
 * its definition in double (dividing by the bias corrections), rounded to F32 once, over several
 * steps and gradients spanning 1e-6 to 10: each moment within one F32 ulp of itself plus one ulp of
 * each of its two terms ({@code b1 m} and {@code (1 - b1) g}, which can cancel), parameters within
 * 2 ulps of the parameter plus 4 ulps of the step {@code lr (m / c1 / (sqrt(v / c2) + eps) + wd p)},
 * which dominates where a parameter is near zero.
 */
class AdamWKernelTest {
    private static final int N = 1001;

    @Test
    void shouldMatchTheDefinitionWithinTwoUlps() {
        AdamWUpdate def = new AdamWUpdate(0.9, 0.999, 1e-8, 0.01);
        int[] vector = {N};
        int[] scalar = {};
        OneOpHarness harness = OneOpHarness.of(def, DType.F32, vector, vector, vector, vector, scalar, scalar);
        SplittableRandom random = new SplittableRandom(11);
        INDArray p = Nd4j.create(DataType.FLOAT, N);
        INDArray m = Nd4j.create(DataType.FLOAT, N);
        INDArray v = Nd4j.create(DataType.FLOAT, N);
        float[] p0 = new float[N];
        float[] m0 = new float[N];
        float[] v0 = new float[N];
        for (int i = 0; i < N; i++) {
            p0[i] = (float) random.nextDouble(-1, 1);
            p.putScalar(i, p0[i]);
        }
        double lr = (float) 3e-3; // the kernel reads the rate from an F32 scalar
        for (int t = 1; t <= 5; t++) {
            INDArray g = Nd4j.create(DataType.FLOAT, N);
            for (int i = 0; i < N; i++) {
                g.putScalar(i, (float) (random.nextDouble(-1, 1) * Math.pow(10, random.nextInt(-6, 2))));
            }
            harness.run(new KernelContext(t - 1, 0), p, g, m, v, Nd4j.scalar(DataType.FLOAT, (float) lr),
                    Nd4j.scalar(DataType.FLOAT, (float) t));
            double c1 = 1 - Math.pow(0.9, t);
            double c2 = 1 - Math.pow(0.999, t);
            for (int i = 0; i < N; i++) {
                double gi = g.getFloat(i);
                double mi = 0.9 * m0[i] + (1 - 0.9) * gi;
                double vi = 0.999 * v0[i] + (1 - 0.999) * gi * gi;
                // float rounds each term of a moment's sum, and the two terms of m can cancel
                double mTolerance = Math.ulp((float) mi) + Math.ulp((float) (0.9 * m0[i])) + Math.ulp((float) (0.1 * gi));
                double vTolerance = Math.ulp((float) vi) + Math.ulp((float) (0.999 * v0[i]))
                        + Math.ulp((float) (0.001 * gi * gi));
                m0[i] = (float) mi;
                v0[i] = (float) vi;
                double step = lr * ((mi / c1) / (Math.sqrt(vi / c2) + 1e-8) + 0.01 * p0[i]);
                p0[i] = (float) (p0[i] - step);
                assertWithin(m0[i], m.getFloat(i), mTolerance, "m", t, i);
                assertWithin(v0[i], v.getFloat(i), vTolerance, "v", t, i);
                assertWithin(p0[i], p.getFloat(i), 2 * Math.ulp(p0[i]) + 4 * Math.ulp((float) step), "p", t, i);
                // continue from the kernel's values, so one rounding difference cannot grow
                m0[i] = m.getFloat(i);
                v0[i] = v.getFloat(i);
                p0[i] = p.getFloat(i);
            }
        }
    }

    private static void assertWithin(float expected, float actual, double tolerance, String what, int step, int i) {
        assertTrue(Math.abs(expected - actual) <= tolerance,
                what + "[" + i + "] at step " + step + ": expected " + expected + ", got " + actual);
    }
}
