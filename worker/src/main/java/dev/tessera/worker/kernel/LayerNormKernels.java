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
 * thread); the F32 forward and input gradient copy each row into Java arrays in bulk (see
 * {@link #forwardFloats}). Both compute in double in the same order, so they give the same floats.
 */
final class LayerNormKernels {
    private LayerNormKernels() {
    }

    static void register(KernelRegistry r) {
        r.register(LayerNorm.class, (def, op) -> forward(def.epsilon(), op.input(0).shape().dim(-1)));
        r.register(LayerNormGradInput.class, (def, op) -> gradInput(op.input(0).shape().dim(-1)));
        r.register(LayerNormGradWeight.class, (def, op) -> gradWeight(op.input(0).shape().dim(-1)));
    }

    /** Inputs (x, scale, bias); outputs (y, mean, rstd). Two-pass variance, for accuracy. */
    private static Kernel forward(double epsilon, int length) {
        Rows buffers = new Rows(length);
        return (in, out, ctx) -> {
            if (FloatLoops.applies(in[0], in[1], in[2], out[0], out[1], out[2])) {
                forwardFloats(in, out, epsilon, buffers);
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

    /**
     * The F32 forward: the same double arithmetic in the same order, so the same floats. Each row
     * is copied in and out in bulk and the passes run over Java arrays: read element by element
     * through the direct buffers, the passes ran at 14-17 ns per element whenever the JIT left the
     * buffers' scope check out of line (JFR showed {@code Buffer.scope()} as its own frame).
     */
    private static void forwardFloats(INDArray[] in, INDArray[] out, double epsilon, Rows buffers) {
        Rows rows = buffers.fit((int) in[0].size(in[0].rank() - 1));
        FloatBuffer x = FloatLoops.view(in[0]);
        FloatBuffer y = FloatLoops.view(out[0]);
        FloatBuffer means = FloatLoops.view(out[1]);
        FloatBuffer rstds = FloatLoops.view(out[2]);
        int n = rows.n;
        float[] scale = rows.scale;
        float[] bias = rows.bias;
        float[] row = rows.in;
        float[] result = rows.out;
        FloatLoops.view(in[1]).get(0, scale, 0, n);
        FloatLoops.view(in[2]).get(0, bias, 0, n);
        int count = Math.toIntExact(in[0].length() / n);
        for (int r = 0; r < count; r++) {
            int base = r * n;
            x.get(base, row, 0, n);
            double sum = 0;
            for (int j = 0; j < n; j++) {
                sum += row[j];
            }
            double mean = sum / n;
            double squares = 0;
            for (int j = 0; j < n; j++) {
                double d = row[j] - mean;
                squares += d * d;
            }
            double rstd = 1.0 / Math.sqrt(squares / n + epsilon);
            for (int j = 0; j < n; j++) {
                double xhat = (row[j] - mean) * rstd;
                result[j] = (float) (xhat * scale[j] + bias[j]);
            }
            y.put(base, result, 0, n);
            means.put(r, (float) mean);
            rstds.put(r, (float) rstd);
        }
    }

    /** Inputs (dy, x, scale, mean, rstd); dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * scale. */
    private static Kernel gradInput(int length) {
        Rows buffers = new Rows(length);
        return (in, out, ctx) -> {
            if (FloatLoops.applies(in[0], in[1], in[2], in[3], in[4], out[0])) {
                gradInputFloats(in, out, buffers);
                return;
            }
            gradInputElements(in, out);
        };
    }

    private static void gradInputElements(INDArray[] in, INDArray[] out) {
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

    /** The F32 input gradient over rows copied in and out in bulk, as {@link #forwardFloats}. */
    private static void gradInputFloats(INDArray[] in, INDArray[] out, Rows buffers) {
        Rows rows = buffers.fit((int) in[0].size(in[0].rank() - 1));
        FloatBuffer dy = FloatLoops.view(in[0]);
        FloatBuffer x = FloatLoops.view(in[1]);
        FloatBuffer means = FloatLoops.view(in[3]);
        FloatBuffer rstds = FloatLoops.view(in[4]);
        FloatBuffer dx = FloatLoops.view(out[0]);
        int n = rows.n;
        float[] scale = rows.scale;
        float[] dyRow = rows.gradient;
        float[] xRow = rows.in;
        float[] result = rows.out;
        double[] gs = rows.products;
        FloatLoops.view(in[2]).get(0, scale, 0, n);
        int count = Math.toIntExact(in[0].length() / n);
        for (int r = 0; r < count; r++) {
            int base = r * n;
            dy.get(base, dyRow, 0, n);
            x.get(base, xRow, 0, n);
            double mean = means.get(r);
            double rstd = rstds.get(r);
            double sumG = 0;
            double sumGXhat = 0;
            for (int j = 0; j < n; j++) {
                double g = dyRow[j] * (double) scale[j];
                gs[j] = g;
                sumG += g;
                sumGXhat += g * (xRow[j] - mean) * rstd;
            }
            double meanG = sumG / n;
            double meanGXhat = sumGXhat / n;
            for (int j = 0; j < n; j++) {
                double xhat = (xRow[j] - mean) * rstd;
                result[j] = (float) (rstd * (gs[j] - meanG - xhat * meanGXhat));
            }
            dx.put(base, result, 0, n);
        }
    }

    /**
     * One kernel's row buffers, sized for the normalized axis of its op when the kernel is made
     * (set-up), and again should an array of another row length arrive. A kernel runs on one
     * thread at a time.
     */
    private static final class Rows {
        int n;
        float[] scale;
        float[] bias;
        float[] in;
        float[] out;
        /** The input gradient's incoming gradient row. */
        float[] gradient;
        /** The input gradient's dy * scale of a row, computed once for both of its passes. */
        double[] products;

        Rows(int n) {
            fit(n);
        }

        Rows fit(int length) {
            if (scale == null || length != n) {
                n = length;
                scale = new float[length];
                bias = new float[length];
                in = new float[length];
                out = new float[length];
                gradient = new float[length];
                products = new double[length];
            }
            return this;
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
