package dev.tessera.worker.kernel;

import dev.tessera.ops.LayerNorm;
import dev.tessera.ops.LayerNormGradInput;
import dev.tessera.ops.LayerNormGradWeight;
import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataBuffer;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Layer norm forward and its split backward, each a few plain Java passes over every row: the
 * same math in ND4J would take six or more native calls and as many temporaries.
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
            DataBuffer x = Dense.read(in[0]);
            DataBuffer scale = Dense.read(in[1]);
            DataBuffer bias = Dense.read(in[2]);
            INDArray[] targets = {Dense.writable(out[0]), Dense.writable(out[1]), Dense.writable(out[2])};
            DataBuffer y = targets[0].data();
            DataBuffer means = targets[1].data();
            DataBuffer rstds = targets[2].data();
            int n = (int) in[0].size(in[0].rank() - 1);
            long rows = in[0].length() / n;
            for (long r = 0; r < rows; r++) {
                long base = r * n;
                double sum = 0;
                for (int j = 0; j < n; j++) {
                    sum += x.getDouble(base + j);
                }
                double mean = sum / n;
                double squares = 0;
                for (int j = 0; j < n; j++) {
                    double d = x.getDouble(base + j) - mean;
                    squares += d * d;
                }
                double rstd = 1.0 / Math.sqrt(squares / n + epsilon);
                for (int j = 0; j < n; j++) {
                    double xhat = (x.getDouble(base + j) - mean) * rstd;
                    y.put(base + j, xhat * scale.getDouble(j) + bias.getDouble(j));
                }
                means.put(r, mean);
                rstds.put(r, rstd);
            }
            for (int i = 0; i < 3; i++) {
                Dense.commit(out[i], targets[i]);
            }
        };
    }

    /** Inputs (dy, x, scale, mean, rstd); dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * scale. */
    private static void gradInput(INDArray[] in, INDArray[] out) {
        DataBuffer dy = Dense.read(in[0]);
        DataBuffer x = Dense.read(in[1]);
        DataBuffer scale = Dense.read(in[2]);
        DataBuffer means = Dense.read(in[3]);
        DataBuffer rstds = Dense.read(in[4]);
        INDArray target = Dense.writable(out[0]);
        DataBuffer dx = target.data();
        int n = (int) in[0].size(in[0].rank() - 1);
        long rows = in[0].length() / n;
        for (long r = 0; r < rows; r++) {
            long base = r * n;
            double mean = means.getDouble(r);
            double rstd = rstds.getDouble(r);
            double sumG = 0;
            double sumGXhat = 0;
            for (int j = 0; j < n; j++) {
                double g = dy.getDouble(base + j) * scale.getDouble(j);
                sumG += g;
                sumGXhat += g * (x.getDouble(base + j) - mean) * rstd;
            }
            double meanG = sumG / n;
            double meanGXhat = sumGXhat / n;
            for (int j = 0; j < n; j++) {
                double g = dy.getDouble(base + j) * scale.getDouble(j);
                double xhat = (x.getDouble(base + j) - mean) * rstd;
                dx.put(base + j, rstd * (g - meanG - xhat * meanGXhat));
            }
        }
        Dense.commit(out[0], target);
    }

    /** Inputs (dy, x, mean, rstd); outputs dscale = sum(dy * xhat), dbias = sum(dy), accumulated in double. */
    private static Kernel gradWeight(int n) {
        double[] dscale = new double[n];
        double[] dbias = new double[n];
        return (in, out, ctx) -> {
            DataBuffer dy = Dense.read(in[0]);
            DataBuffer x = Dense.read(in[1]);
            DataBuffer means = Dense.read(in[2]);
            DataBuffer rstds = Dense.read(in[3]);
            Arrays.fill(dscale, 0);
            Arrays.fill(dbias, 0);
            long rows = in[0].length() / n;
            for (long r = 0; r < rows; r++) {
                long base = r * n;
                double mean = means.getDouble(r);
                double rstd = rstds.getDouble(r);
                for (int j = 0; j < n; j++) {
                    double g = dy.getDouble(base + j);
                    dscale[j] += g * (x.getDouble(base + j) - mean) * rstd;
                    dbias[j] += g;
                }
            }
            INDArray[] targets = {Dense.writable(out[0]), Dense.writable(out[1])};
            DataBuffer scaleGrad = targets[0].data();
            DataBuffer biasGrad = targets[1].data();
            for (int j = 0; j < n; j++) {
                scaleGrad.put(j, dscale[j]);
                biasGrad.put(j, dbias[j]);
            }
            Dense.commit(out[0], targets[0]);
            Dense.commit(out[1], targets[1]);
        };
    }
}
