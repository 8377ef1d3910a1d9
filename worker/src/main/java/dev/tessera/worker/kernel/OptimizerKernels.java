package dev.tessera.worker.kernel;

import dev.tessera.autodiff.AccumulateGrad;
import dev.tessera.autodiff.GradientSeed;
import dev.tessera.optim.AdamWUpdate;
import dev.tessera.optim.ClipByNorm;
import dev.tessera.optim.GlobalNorm;
import dev.tessera.optim.SgdUpdate;
import dev.tessera.optim.SquaredNorm;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Gradient bookkeeping and optimizer updates. Updates are plain loops over the buffers: one pass
 * per parameter instead of a dozen small ND4J calls, which dominate at ~20 us each.
 */
final class OptimizerKernels {
    /** Independent partial sums of {@link #sumOfSquares}. */
    private static final int PARTIAL_SUMS = 8;

    private OptimizerKernels() {
    }

    static void register(KernelRegistry r) {
        r.register(GradientSeed.class, (def, op) -> (in, out, ctx) -> setScalar(out[0], def.value()));
        r.register(AccumulateGrad.class, (def, op) -> (in, out, ctx) -> accumulate(in[0], in[1], ctx.microBatch() == 0));
        r.register(SquaredNorm.class, (def, op) -> {
            float[] block = new float[FloatVectors.BLOCK];
            return (in, out, ctx) -> setScalar(out[0], sumOfSquares(in[0], block));
        });
        r.register(GlobalNorm.class, (def, op) -> (in, out, ctx) -> setScalar(out[0], globalNorm(in)));
        r.register(ClipByNorm.class, (def, op) -> (in, out, ctx) -> clip(def.maxNorm(), in[0], in[1].getDouble(0)));
        r.register(SgdUpdate.class, (def, op) -> (in, out, ctx) -> sgd(def, in));
        r.register(AdamWUpdate.class, (def, op) -> {
            AdamWFloats floats = new AdamWFloats();
            return (in, out, ctx) -> adamw(def, in, floats);
        });
    }

    /**
     * {@code accumulator += gradient}; at an iteration's first micro-batch {@code accumulator = 0 +
     * gradient}, without reading the accumulator: the floats an add into a zeroed accumulator gives
     * (a negative zero becomes a positive one), in one pass instead of a zeroing pass and an add.
     * So the executors leave an accumulator written by this kernel as the last iteration left it.
     */
    static void accumulate(INDArray accumulator, INDArray gradient, boolean firstMicroBatch) {
        if (FloatLoops.applies(accumulator, gradient)) {
            if (firstMicroBatch) {
                FloatLoops.addToZero(gradient, accumulator);
            } else {
                FloatLoops.add(accumulator, gradient, accumulator);
            }
        } else {
            if (firstMicroBatch) {
                accumulator.assign(0);
            }
            accumulator.addi(gradient);
        }
    }

    /**
     * A scalar output set through its buffer where it is a contiguous F32 array (rounded to the
     * nearest float, as ND4J's assign rounds): an assign is a native call of about 10 us, which a
     * step pays once per parameter for its squared norm.
     */
    private static void setScalar(INDArray out, double value) {
        if (FloatLoops.applies(out)) {
            FloatLoops.view(out).put(0, (float) value);
        } else {
            out.assign(value);
        }
    }

    private static double globalNorm(INDArray[] squaredNorms) {
        double sum = 0;
        for (INDArray s : squaredNorms) {
            sum += s.getDouble(0);
        }
        return Math.sqrt(sum);
    }

    /** The 1e-6 keeps the clipped norm just under the maximum, as in PyTorch's clip_grad_norm_. */
    static void clip(double maxNorm, INDArray gradient, double norm) {
        if (norm > maxNorm) {
            double factor = clipScale(maxNorm, norm);
            if (FloatLoops.applies(gradient)) {
                FloatLoops.scale(gradient, factor);
            } else {
                gradient.muli(factor);
            }
        }
    }

    /** The factor a gradient is scaled by when {@code norm > maxNorm}. */
    static double clipScale(double maxNorm, double norm) {
        return maxNorm / (norm + 1e-6);
    }

    private static void sgd(SgdUpdate def, INDArray[] in) {
        double lr = in[3].getDouble(0);
        double mu = def.momentum();
        double wd = def.weightDecay();
        int n = (int) in[0].length();
        if (in[0].dataType() == DataType.FLOAT) {
            FloatBuffer p = floats(in[0]);
            FloatBuffer g = floats(in[1]);
            FloatBuffer v = floats(in[2]);
            for (int i = 0; i < n; i++) {
                float vi = (float) (mu * v.get(i) + g.get(i) + wd * p.get(i));
                v.put(i, vi);
                p.put(i, (float) (p.get(i) - lr * vi));
            }
        } else {
            DoubleBuffer p = doubles(in[0]);
            DoubleBuffer g = doubles(in[1]);
            DoubleBuffer v = doubles(in[2]);
            for (int i = 0; i < n; i++) {
                double vi = mu * v.get(i) + g.get(i) + wd * p.get(i);
                v.put(i, vi);
                p.put(i, p.get(i) - lr * vi);
            }
        }
    }

    private static void adamw(AdamWUpdate def, INDArray[] in, AdamWFloats floats) {
        double lr = in[4].getDouble(0);
        double t = in[5].getDouble(0);
        double b1 = def.beta1();
        double b2 = def.beta2();
        double eps = def.epsilon();
        double wd = def.weightDecay();
        // Multiplying by the inverse bias corrections saves two of the three divisions per element
        // (AdamWKernelTest bounds the F32 result against dividing).
        double inverseC1 = 1 / (1 - Math.pow(b1, t));
        double inverseC2 = 1 / (1 - Math.pow(b2, t));
        int n = (int) in[0].length();
        if (in[0].dataType() == DataType.FLOAT) {
            floats.step(floats(in[0]), floats(in[1]), floats(in[2]), floats(in[3]), n, lr, b1, b2, eps, wd, inverseC1,
                    inverseC2);
        } else {
            DoubleBuffer p = doubles(in[0]);
            DoubleBuffer g = doubles(in[1]);
            DoubleBuffer m = doubles(in[2]);
            DoubleBuffer v = doubles(in[3]);
            for (int i = 0; i < n; i++) {
                double gi = g.get(i);
                double mi = b1 * m.get(i) + (1 - b1) * gi;
                double vi = b2 * v.get(i) + (1 - b2) * gi * gi;
                m.put(i, mi);
                v.put(i, vi);
                double pi = p.get(i);
                p.put(i, pi - lr * (mi * inverseC1 / (Math.sqrt(vi * inverseC2) + eps) + wd * pi));
            }
        }
    }

    /**
     * The sum of squares in double. F32 elements are copied a block at a time into a heap array
     * and summed into {@link #PARTIAL_SUMS} accumulators, element i into accumulator i mod 8, which
     * are added in order at the end: a fixed order (the same sum on every machine and run) without
     * the chain of dependent additions that bounded one accumulator at about 1.7 ns per element.
     */
    private static double sumOfSquares(INDArray g, float[] block) {
        int n = (int) g.length();
        if (g.dataType() == DataType.FLOAT) {
            FloatBuffer b = floats(g);
            double[] sums = new double[PARTIAL_SUMS];
            for (int start = 0; start < n; start += block.length) {
                int length = Math.min(block.length, n - start);
                b.get(start, block, 0, length);
                int whole = length - length % PARTIAL_SUMS;
                double s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
                for (int i = 0; i < whole; i += PARTIAL_SUMS) {
                    double v0 = block[i], v1 = block[i + 1], v2 = block[i + 2], v3 = block[i + 3];
                    double v4 = block[i + 4], v5 = block[i + 5], v6 = block[i + 6], v7 = block[i + 7];
                    s0 += v0 * v0;
                    s1 += v1 * v1;
                    s2 += v2 * v2;
                    s3 += v3 * v3;
                    s4 += v4 * v4;
                    s5 += v5 * v5;
                    s6 += v6 * v6;
                    s7 += v7 * v7;
                }
                sums[0] += s0;
                sums[1] += s1;
                sums[2] += s2;
                sums[3] += s3;
                sums[4] += s4;
                sums[5] += s5;
                sums[6] += s6;
                sums[7] += s7;
                for (int i = whole; i < length; i++) {
                    double v = block[i];
                    sums[i % PARTIAL_SUMS] += v * v;
                }
            }
            double sum = 0;
            for (double partial : sums) {
                sum += partial;
            }
            return sum;
        }
        DoubleBuffer b = doubles(g);
        double sum = 0;
        for (int i = 0; i < n; i++) {
            double v = b.get(i);
            sum += v * v;
        }
        return sum;
    }

    /** The elements of a C-order buffer allocated by the executor (offset 0), as a view. */
    static FloatBuffer floats(INDArray a) {
        return a.data().asNioFloat().position((int) a.offset()).slice();
    }

    static DoubleBuffer doubles(INDArray a) {
        return a.data().asNioDouble().position((int) a.offset()).slice();
    }
}
