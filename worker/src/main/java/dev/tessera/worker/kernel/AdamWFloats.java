package dev.tessera.worker.kernel;

import java.nio.FloatBuffer;
import jdk.incubator.vector.FloatVector;

/**
 * The F32 AdamW step in float on the Vector API, as PyTorch's CPU AdamW computes it in float32.
 * The double arithmetic on float storage it replaces ran scalar (22 ns per element for the double
 * division and square root alone, docs/performance.md). Against the update written in double, a
 * moment is within one F32 ulp of itself and of each of its two terms, a parameter within 2 ulps
 * of itself and 4 of its step (AdamWKernelTest). Blocks of the four buffers are copied into heap arrays;
 * each kernel owns its arrays.
 */
final class AdamWFloats {
    private final float[] p = new float[FloatVectors.BLOCK];
    private final float[] g = new float[FloatVectors.BLOCK];
    private final float[] m = new float[FloatVectors.BLOCK];
    private final float[] v = new float[FloatVectors.BLOCK];

    /**
     * One step over n elements: {@code m = b1 m + (1 - b1) g}, {@code v = b2 v + (1 - b2) g^2},
     * {@code p -= lr (m / c1 / (sqrt(v / c2) + eps) + wd p)}, with the bias corrections applied as
     * their inverses.
     */
    void step(FloatBuffer params, FloatBuffer grads, FloatBuffer firsts, FloatBuffer seconds, int n, double lr,
              double beta1, double beta2, double epsilon, double weightDecay, double inverseC1, double inverseC2) {
        float b1 = (float) beta1;
        float b2 = (float) beta2;
        float oneMinusB1 = (float) (1 - beta1);
        float oneMinusB2 = (float) (1 - beta2);
        float rate = (float) lr;
        float eps = (float) epsilon;
        float decay = (float) weightDecay;
        float c1 = (float) inverseC1;
        float c2 = (float) inverseC2;
        for (int start = 0; start < n; start += FloatVectors.BLOCK) {
            int length = Math.min(FloatVectors.BLOCK, n - start);
            params.get(start, p, 0, length);
            grads.get(start, g, 0, length);
            firsts.get(start, m, 0, length);
            seconds.get(start, v, 0, length);
            for (int i = 0; i < length; i += FloatVectors.LANES) {
                FloatVector gi = FloatVector.fromArray(FloatVectors.SPECIES, g, i);
                FloatVector mi = FloatVector.fromArray(FloatVectors.SPECIES, m, i).mul(b1).add(gi.mul(oneMinusB1));
                FloatVector vi = FloatVector.fromArray(FloatVectors.SPECIES, v, i).mul(b2)
                        .add(gi.mul(gi).mul(oneMinusB2));
                FloatVector pi = FloatVector.fromArray(FloatVectors.SPECIES, p, i);
                FloatVector direction = mi.mul(c1).div(vi.mul(c2).sqrt().add(eps)).add(pi.mul(decay));
                mi.intoArray(m, i);
                vi.intoArray(v, i);
                pi.sub(direction.mul(rate)).intoArray(p, i);
            }
            params.put(start, p, 0, length);
            firsts.put(start, m, 0, length);
            seconds.put(start, v, 0, length);
        }
    }
}
