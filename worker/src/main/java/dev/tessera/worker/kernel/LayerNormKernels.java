package dev.tessera.worker.kernel;

import dev.tessera.ops.LayerNorm;
import dev.tessera.ops.LayerNormGradInput;
import dev.tessera.ops.LayerNormGradWeight;
import java.nio.FloatBuffer;
import java.util.Arrays;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Layer norm forward and its split backward, each a few plain Java passes over every row: the
 * same math in ND4J would take six or more native calls and as many temporaries. F32 arrays take
 * a path straight on the float buffers: the generic path reads every element through
 * {@link Elements} (the forward measured about 19 ns per element in a gpt-text step with one
 * thread), the F32 path 3.7 ns in a standalone loop (docs/performance.md has the slower phases
 * it also showed). Both compute in double in the same order, so they give the same floats.
 */
final class LayerNormKernels {
    private LayerNormKernels() {
    }

    static void register(KernelRegistry r) {
        r.register(LayerNorm.class, (def, op) -> forward(def.epsilon()));
        r.register(LayerNormGradInput.class, (def, op) -> (in, out, ctx) -> gradInput(in, out));
        r.register(LayerNormGradWeight.class, (def, op) -> gradWeight(op.input(0).shape().dim(-1)));
    }

    /** Inputs (x, scale, bias); outputs (y, mean, rstd). Two-pass variance, for accuracy. */
    private static Kernel forward(double epsilon) {
        return (in, out, ctx) -> {
            if (FloatLoops.applies(in[0], in[1], in[2], out[0], out[1], out[2])) {
                forwardFloats(in, out, epsilon);
                return;
            }
            Elements x = Elements.read(in[0]);
            Elements scale = Elements.read(in[1]);
            Elements bias = Elements.read(in[2]);
            INDArray[] targets = {RawBuffers.writable(out[0]), RawBuffers.writable(out[1]), RawBuffers.writable(out[2])};
            Elements y = Elements.of(targets[0]);
            Elements means = Elements.of(targets[1]);
            Elements rstds = Elements.of(targets[2]);
            int n = (int) in[0].size(in[0].rank() - 1);
            long rows = in[0].length() / n;
            for (long r = 0; r < rows; r++) {
                long base = r * n;
                double sum = 0;
                for (int j = 0; j < n; j++) {
                    sum += x.get(base + j);
                }
                double mean = sum / n;
                double squares = 0;
                for (int j = 0; j < n; j++) {
                    double d = x.get(base + j) - mean;
                    squares += d * d;
                }
                double rstd = 1.0 / Math.sqrt(squares / n + epsilon);
                for (int j = 0; j < n; j++) {
                    double xhat = (x.get(base + j) - mean) * rstd;
                    y.set(base + j, xhat * scale.get(j) + bias.get(j));
                }
                means.set(r, mean);
                rstds.set(r, rstd);
            }
            for (int i = 0; i < 3; i++) {
                RawBuffers.commit(targets[i], out[i]);
            }
        };
    }

    /** The F32 forward straight on the buffers: the same double arithmetic in the same order, so the same floats. */
    private static void forwardFloats(INDArray[] in, INDArray[] out, double epsilon) {
        FloatBuffer x = FloatLoops.view(in[0]);
        FloatBuffer scale = FloatLoops.view(in[1]);
        FloatBuffer bias = FloatLoops.view(in[2]);
        FloatBuffer y = FloatLoops.view(out[0]);
        FloatBuffer means = FloatLoops.view(out[1]);
        FloatBuffer rstds = FloatLoops.view(out[2]);
        int n = (int) in[0].size(in[0].rank() - 1);
        int rows = Math.toIntExact(in[0].length() / n);
        for (int r = 0; r < rows; r++) {
            int base = r * n;
            double sum = 0;
            for (int j = 0; j < n; j++) {
                sum += x.get(base + j);
            }
            double mean = sum / n;
            double squares = 0;
            for (int j = 0; j < n; j++) {
                double d = x.get(base + j) - mean;
                squares += d * d;
            }
            double rstd = 1.0 / Math.sqrt(squares / n + epsilon);
            for (int j = 0; j < n; j++) {
                double xhat = (x.get(base + j) - mean) * rstd;
                y.put(base + j, (float) (xhat * scale.get(j) + bias.get(j)));
            }
            means.put(r, (float) mean);
            rstds.put(r, (float) rstd);
        }
    }

    /** Inputs (dy, x, scale, mean, rstd); dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * scale. */
    private static void gradInput(INDArray[] in, INDArray[] out) {
        if (FloatLoops.applies(in[0], in[1], in[2], in[3], in[4], out[0])) {
            gradInputFloats(in, out);
            return;
        }
        Elements dy = Elements.read(in[0]);
        Elements x = Elements.read(in[1]);
        Elements scale = Elements.read(in[2]);
        Elements means = Elements.read(in[3]);
        Elements rstds = Elements.read(in[4]);
        INDArray target = RawBuffers.writable(out[0]);
        Elements dx = Elements.of(target);
        int n = (int) in[0].size(in[0].rank() - 1);
        long rows = in[0].length() / n;
        for (long r = 0; r < rows; r++) {
            long base = r * n;
            double mean = means.get(r);
            double rstd = rstds.get(r);
            double sumG = 0;
            double sumGXhat = 0;
            for (int j = 0; j < n; j++) {
                double g = dy.get(base + j) * scale.get(j);
                sumG += g;
                sumGXhat += g * (x.get(base + j) - mean) * rstd;
            }
            double meanG = sumG / n;
            double meanGXhat = sumGXhat / n;
            for (int j = 0; j < n; j++) {
                double g = dy.get(base + j) * scale.get(j);
                double xhat = (x.get(base + j) - mean) * rstd;
                dx.set(base + j, rstd * (g - meanG - xhat * meanGXhat));
            }
        }
        RawBuffers.commit(target, out[0]);
    }

    private static void gradInputFloats(INDArray[] in, INDArray[] out) {
        FloatBuffer dy = FloatLoops.view(in[0]);
        FloatBuffer x = FloatLoops.view(in[1]);
        FloatBuffer scale = FloatLoops.view(in[2]);
        FloatBuffer means = FloatLoops.view(in[3]);
        FloatBuffer rstds = FloatLoops.view(in[4]);
        FloatBuffer dx = FloatLoops.view(out[0]);
        int n = (int) in[0].size(in[0].rank() - 1);
        int rows = Math.toIntExact(in[0].length() / n);
        for (int r = 0; r < rows; r++) {
            int base = r * n;
            double mean = means.get(r);
            double rstd = rstds.get(r);
            double sumG = 0;
            double sumGXhat = 0;
            for (int j = 0; j < n; j++) {
                double g = dy.get(base + j) * (double) scale.get(j);
                sumG += g;
                sumGXhat += g * (x.get(base + j) - mean) * rstd;
            }
            double meanG = sumG / n;
            double meanGXhat = sumGXhat / n;
            for (int j = 0; j < n; j++) {
                double g = dy.get(base + j) * (double) scale.get(j);
                double xhat = (x.get(base + j) - mean) * rstd;
                dx.put(base + j, (float) (rstd * (g - meanG - xhat * meanGXhat)));
            }
        }
    }

    /** Inputs (dy, x, mean, rstd); outputs dscale = sum(dy * xhat), dbias = sum(dy), accumulated in double. */
    private static Kernel gradWeight(int n) {
        double[] dscale = new double[n];
        double[] dbias = new double[n];
        return (in, out, ctx) -> {
            Arrays.fill(dscale, 0);
            Arrays.fill(dbias, 0);
            if (FloatLoops.applies(in[0], in[1], in[2], in[3], out[0], out[1])) {
                gradWeightFloats(in, out, dscale, dbias);
                return;
            }
            Elements dy = Elements.read(in[0]);
            Elements x = Elements.read(in[1]);
            Elements means = Elements.read(in[2]);
            Elements rstds = Elements.read(in[3]);
            long rows = in[0].length() / n;
            for (long r = 0; r < rows; r++) {
                long base = r * n;
                double mean = means.get(r);
                double rstd = rstds.get(r);
                for (int j = 0; j < n; j++) {
                    double g = dy.get(base + j);
                    dscale[j] += g * (x.get(base + j) - mean) * rstd;
                    dbias[j] += g;
                }
            }
            INDArray[] targets = {RawBuffers.writable(out[0]), RawBuffers.writable(out[1])};
            Elements scaleGrad = Elements.of(targets[0]);
            Elements biasGrad = Elements.of(targets[1]);
            for (int j = 0; j < n; j++) {
                scaleGrad.set(j, dscale[j]);
                biasGrad.set(j, dbias[j]);
            }
            RawBuffers.commit(targets[0], out[0]);
            RawBuffers.commit(targets[1], out[1]);
        };
    }

    private static void gradWeightFloats(INDArray[] in, INDArray[] out, double[] dscale, double[] dbias) {
        FloatBuffer dy = FloatLoops.view(in[0]);
        FloatBuffer x = FloatLoops.view(in[1]);
        FloatBuffer means = FloatLoops.view(in[2]);
        FloatBuffer rstds = FloatLoops.view(in[3]);
        int n = dscale.length;
        int rows = Math.toIntExact(in[0].length() / n);
        for (int r = 0; r < rows; r++) {
            int base = r * n;
            double mean = means.get(r);
            double rstd = rstds.get(r);
            for (int j = 0; j < n; j++) {
                double g = dy.get(base + j);
                dscale[j] += g * (x.get(base + j) - mean) * rstd;
                dbias[j] += g;
            }
        }
        FloatBuffer scaleGrad = FloatLoops.view(out[0]);
        FloatBuffer biasGrad = FloatLoops.view(out[1]);
        for (int j = 0; j < n; j++) {
            scaleGrad.put(j, (float) dscale[j]);
            biasGrad.put(j, (float) dbias[j]);
        }
    }
}
