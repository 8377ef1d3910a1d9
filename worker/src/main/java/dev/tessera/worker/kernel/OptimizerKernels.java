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
    private OptimizerKernels() {
    }

    static void register(KernelRegistry r) {
        r.register(GradientSeed.class, (def, op) -> (in, out, ctx) -> out[0].assign(def.value()));
        r.register(AccumulateGrad.class, (def, op) -> (in, out, ctx) -> accumulate(in[0], in[1], ctx.microBatch() == 0));
        r.register(SquaredNorm.class, (def, op) -> (in, out, ctx) -> out[0].assign(sumOfSquares(in[0])));
        r.register(GlobalNorm.class, (def, op) -> (in, out, ctx) -> out[0].assign(globalNorm(in)));
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

    private static double sumOfSquares(INDArray g) {
        int n = (int) g.length();
        double sum = 0;
        if (g.dataType() == DataType.FLOAT) {
            FloatBuffer b = floats(g);
            for (int i = 0; i < n; i++) {
                double v = b.get(i);
                sum += v * v;
            }
        } else {
            DoubleBuffer b = doubles(g);
            for (int i = 0; i < n; i++) {
                double v = b.get(i);
                sum += v * v;
            }
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
