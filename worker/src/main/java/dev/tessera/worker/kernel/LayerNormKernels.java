package dev.tessera.worker.kernel;

import dev.tessera.ops.LayerNorm;
import dev.tessera.ops.LayerNormGradInput;
import dev.tessera.ops.LayerNormGradWeight;
import java.nio.FloatBuffer;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Layer norm forward and its split backward, each a few plain Java passes over every row: the
 * same math in ND4J would take six or more native calls and as many temporaries. The generic
 * path (F64) reads every element through {@link Elements} and computes in double. The F32
 * forward and input gradient compute in float on the Vector API over rows copied into Java
 * arrays in blocks (see {@link #forwardFloats}), as PyTorch computes them in float; the weight
 * gradient sums its columns over all rows in double.
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
        ThreadLocal<Rows> buffers = ThreadLocal.withInitial(() -> new Rows(length));
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
     * The F32 forward in float on the Vector API, as PyTorch computes it in float: per row the
     * mean and then the variance (two passes, for accuracy) summed in the lanes of 8-float
     * vectors, the lanes added in lane order in double ({@link FloatVectors#sum}), then {@code
     * (x - mean) * rstd * scale + bias} per lane. Rows are copied between the direct buffers and
     * heap arrays a block of whole rows at a time.
     */
    private static void forwardFloats(INDArray[] in, INDArray[] out, double epsilon, ThreadLocal<Rows> buffers) {
        int n = (int) in[0].size(in[0].rank() - 1);
        FloatBuffer x = FloatLoops.view(in[0]);
        FloatBuffer y = FloatLoops.view(out[0]);
        FloatBuffer means = FloatLoops.view(out[1]);
        FloatBuffer rstds = FloatLoops.view(out[2]);
        FloatBuffer scale = FloatLoops.view(in[1]);
        FloatBuffer bias = FloatLoops.view(in[2]);
        int count = Math.toIntExact(in[0].length() / n);
        int parts = KernelThreads.parts(count, n);
        KernelThreads.run(parts, part -> {
            Rows rows = buffers.get().fit(n);
            scale.get(0, rows.scale, 0, n);
            bias.get(0, rows.bias, 0, n);
            forwardRows(x, y, means, rows, rstds, KernelThreads.start(part, parts, count, 1),
                    KernelThreads.start(part + 1, parts, count, 1), epsilon);
        });
    }

    private static void forwardRows(FloatBuffer x, FloatBuffer y, FloatBuffer means, Rows rows, FloatBuffer rstds,
                                    int from, int to, double epsilon) {
        int n = rows.n;
        for (int first = from; first < to; first += rows.perBlock) {
            int block = Math.min(rows.perBlock, to - first);
            x.get(first * n, rows.in, 0, block * n);
            for (int r = 0; r < block; r++) {
                forwardRow(rows, r, epsilon);
            }
            y.put(first * n, rows.out, 0, block * n);
            means.put(first, rows.means, 0, block);
            rstds.put(first, rows.rstds, 0, block);
        }
    }

    private static void forwardRow(Rows rows, int r, double epsilon) {
        int n = rows.n;
        int base = r * n;
        int vectors = FloatVectors.SPECIES.loopBound(n);
        float[] x = rows.in;
        FloatVector sum = FloatVector.zero(FloatVectors.SPECIES);
        for (int j = 0; j < vectors; j += FloatVectors.LANES) {
            sum = sum.add(FloatVector.fromArray(FloatVectors.SPECIES, x, base + j));
        }
        float tail = 0;
        for (int j = vectors; j < n; j++) {
            tail += x[base + j];
        }
        float mean = (float) ((FloatVectors.sum(sum, rows.lanes) + tail) / n);
        FloatVector squares = FloatVector.zero(FloatVectors.SPECIES);
        for (int j = 0; j < vectors; j += FloatVectors.LANES) {
            FloatVector d = FloatVector.fromArray(FloatVectors.SPECIES, x, base + j).sub(mean);
            squares = squares.add(d.mul(d));
        }
        float squaresTail = 0;
        for (int j = vectors; j < n; j++) {
            float d = x[base + j] - mean;
            squaresTail += d * d;
        }
        float variance = (float) ((FloatVectors.sum(squares, rows.lanes) + squaresTail) / n);
        float rstd = (float) (1.0 / Math.sqrt(variance + epsilon));
        float[] y = rows.out;
        for (int j = 0; j < vectors; j += FloatVectors.LANES) {
            FloatVector.fromArray(FloatVectors.SPECIES, x, base + j).sub(mean).mul(rstd)
                    .mul(FloatVector.fromArray(FloatVectors.SPECIES, rows.scale, j))
                    .add(FloatVector.fromArray(FloatVectors.SPECIES, rows.bias, j))
                    .intoArray(y, base + j);
        }
        for (int j = vectors; j < n; j++) {
            y[base + j] = (x[base + j] - mean) * rstd * rows.scale[j] + rows.bias[j];
        }
        rows.means[r] = mean;
        rows.rstds[r] = rstd;
    }

    /** Inputs (dy, x, scale, mean, rstd); dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * scale. */
    private static Kernel gradInput(int length) {
        ThreadLocal<Rows> buffers = ThreadLocal.withInitial(() -> new Rows(length));
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

    /**
     * The F32 input gradient in float vectors, as {@link #forwardFloats}: per row {@code g = dy *
     * scale} and {@code xhat = (x - mean) * rstd}, the lane sums of g and g * xhat, then {@code
     * rstd * (g - mean(g) - xhat * mean(g * xhat))} (g and xhat computed again in the second pass:
     * cheaper in vectors than storing them).
     */
    private static void gradInputFloats(INDArray[] in, INDArray[] out, ThreadLocal<Rows> buffers) {
        int n = (int) in[0].size(in[0].rank() - 1);
        FloatBuffer dy = FloatLoops.view(in[0]);
        FloatBuffer x = FloatLoops.view(in[1]);
        FloatBuffer scale = FloatLoops.view(in[2]);
        FloatBuffer means = FloatLoops.view(in[3]);
        FloatBuffer rstds = FloatLoops.view(in[4]);
        FloatBuffer dx = FloatLoops.view(out[0]);
        int count = Math.toIntExact(in[0].length() / n);
        int parts = KernelThreads.parts(count, n);
        KernelThreads.run(parts, part -> {
            Rows rows = buffers.get().fit(n);
            scale.get(0, rows.scale, 0, n);
            gradInputRows(dy, x, means, rstds, dx, rows, KernelThreads.start(part, parts, count, 1),
                    KernelThreads.start(part + 1, parts, count, 1));
        });
    }

    private static void gradInputRows(FloatBuffer dy, FloatBuffer x, FloatBuffer means, FloatBuffer rstds,
                                      FloatBuffer dx, Rows rows, int from, int to) {
        int n = rows.n;
        for (int first = from; first < to; first += rows.perBlock) {
            int block = Math.min(rows.perBlock, to - first);
            rows.loadBackward(dy, x, means, rstds, first, block);
            for (int r = 0; r < block; r++) {
                gradInputRow(rows, r);
            }
            dx.put(first * n, rows.out, 0, block * n);
        }
    }

    private static void gradInputRow(Rows rows, int r) {
        int n = rows.n;
        int base = r * n;
        int vectors = FloatVectors.SPECIES.loopBound(n);
        float[] dy = rows.gradient;
        float[] x = rows.in;
        float[] scale = rows.scale;
        float mean = rows.means[r];
        float rstd = rows.rstds[r];
        FloatVector sumG = FloatVector.zero(FloatVectors.SPECIES);
        FloatVector sumGXhat = FloatVector.zero(FloatVectors.SPECIES);
        for (int j = 0; j < vectors; j += FloatVectors.LANES) {
            FloatVector g = FloatVector.fromArray(FloatVectors.SPECIES, dy, base + j)
                    .mul(FloatVector.fromArray(FloatVectors.SPECIES, scale, j));
            FloatVector xhat = FloatVector.fromArray(FloatVectors.SPECIES, x, base + j).sub(mean).mul(rstd);
            sumG = sumG.add(g);
            sumGXhat = sumGXhat.add(g.mul(xhat));
        }
        float tailG = 0;
        float tailGXhat = 0;
        for (int j = vectors; j < n; j++) {
            float g = dy[base + j] * scale[j];
            tailG += g;
            tailGXhat += g * ((x[base + j] - mean) * rstd);
        }
        float meanG = (float) ((FloatVectors.sum(sumG, rows.lanes) + tailG) / n);
        float meanGXhat = (float) ((FloatVectors.sum(sumGXhat, rows.lanes) + tailGXhat) / n);
        float[] dx = rows.out;
        for (int j = 0; j < vectors; j += FloatVectors.LANES) {
            FloatVector g = FloatVector.fromArray(FloatVectors.SPECIES, dy, base + j)
                    .mul(FloatVector.fromArray(FloatVectors.SPECIES, scale, j));
            FloatVector xhat = FloatVector.fromArray(FloatVectors.SPECIES, x, base + j).sub(mean).mul(rstd);
            g.sub(meanG).sub(xhat.mul(meanGXhat)).mul(rstd).intoArray(dx, base + j);
        }
        for (int j = vectors; j < n; j++) {
            float g = dy[base + j] * scale[j];
            float xhat = (x[base + j] - mean) * rstd;
            dx[base + j] = (g - meanG - xhat * meanGXhat) * rstd;
        }
    }

    /**
     * One kernel's arrays, sized for the normalized axis of its op when the kernel is made
     * (set-up), and again should an array of another row length arrive: a block of whole rows
     * ({@link FloatVectors#BLOCK} floats, or one row if a row is longer) of each operand, and a
     * block's means and reciprocal deviations; one per thread, since a kernel's rows may be cut
     * into parts that run at once ({@link KernelThreads}).
     */
    private static final class Rows {
        int n;
        /** Rows per block. */
        int perBlock;
        float[] scale;
        float[] bias;
        float[] in;
        float[] out;
        /** The input gradient's incoming gradient rows. */
        float[] gradient;
        float[] means;
        float[] rstds;
        final float[] lanes = new float[FloatVectors.LANES];

        Rows(int n) {
            fit(n);
        }

        /** The backward's operands of {@code block} rows from row {@code first}: dy, x, and their means and rstds. */
        void loadBackward(FloatBuffer dy, FloatBuffer x, FloatBuffer rowMeans, FloatBuffer rowRstds, int first, int block) {
            dy.get(first * n, gradient, 0, block * n);
            x.get(first * n, in, 0, block * n);
            rowMeans.get(first, means, 0, block);
            rowRstds.get(first, rstds, 0, block);
        }

        Rows fit(int length) {
            if (scale == null || length != n) {
                n = length;
                perBlock = Math.max(1, FloatVectors.BLOCK / length);
                scale = new float[length];
                bias = new float[length];
                in = new float[perBlock * length];
                out = new float[perBlock * length];
                gradient = new float[perBlock * length];
                means = new float[perBlock];
                rstds = new float[perBlock];
            }
            return this;
        }
    }

    /** Inputs (dy, x, mean, rstd); outputs dscale = sum(dy * xhat), dbias = sum(dy), accumulated in double. */
    private static Kernel gradWeight(int n) {
        double[] dscale = new double[n];
        double[] dbias = new double[n];
        Rows blocks = new Rows(n);
        return (in, out, ctx) -> {
            Arrays.fill(dscale, 0);
            Arrays.fill(dbias, 0);
            if (FloatLoops.applies(in[0], in[1], in[2], in[3], out[0], out[1])) {
                gradWeightFloats(in, out, dscale, dbias, blocks);
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

    /** Over blocks of rows copied into Java arrays; the sums in double in the order of the generic path. */
    private static void gradWeightFloats(INDArray[] in, INDArray[] out, double[] dscale, double[] dbias, Rows rows) {
        FloatBuffer dy = FloatLoops.view(in[0]);
        FloatBuffer x = FloatLoops.view(in[1]);
        FloatBuffer means = FloatLoops.view(in[2]);
        FloatBuffer rstds = FloatLoops.view(in[3]);
        int n = dscale.length;
        int count = Math.toIntExact(in[0].length() / n);
        for (int first = 0; first < count; first += rows.perBlock) {
            int block = Math.min(rows.perBlock, count - first);
            rows.loadBackward(dy, x, means, rstds, first, block);
            for (int r = 0; r < block; r++) {
                int base = r * n;
                double mean = rows.means[r];
                double rstd = rows.rstds[r];
                for (int j = 0; j < n; j++) {
                    double g = rows.gradient[base + j];
                    dscale[j] += g * (rows.in[base + j] - mean) * rstd;
                    dbias[j] += g;
                }
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
