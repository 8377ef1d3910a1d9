package dev.tessera.worker.kernel;

import dev.tessera.ops.Gelu;
import dev.tessera.ops.GeluGrad;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import jdk.incubator.vector.FloatVector;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * GELU (tanh approximation) and its backward op, each one pass over the raw buffers: F32 in
 * float on the Vector API ({@link FloatVectors}; within 1e-6 absolute of the double formula,
 * GeluKernelsTest), F64 in double. Large F32 tensors are cut into parts for the kernel thread
 * budget ({@link KernelThreads}): the same floats for any budget. ND4J's PreciseGELU computes {@code (0.044715 x)^3} instead of {@code 0.044715 x^3},
 * and composing the formula from ND4J ops takes 6 calls forward and 13 plus a scratch buffer
 * backward, which measured slower than one Java pass at the sizes of the example models.
 */
final class GeluKernels {
    /** GELU is {@code x sigmoid(u)} with {@code u = K (x + A x^3)}, since 0.5 (1 + tanh(z)) = sigmoid(2z). */
    private static final double K = 2 * Gelu.SQRT_2_OVER_PI;
    private static final double A = Gelu.CUBIC;
    private static final float K_F = (float) K;
    private static final float A_F = (float) A;
    private static final FloatVector ONE = FloatVector.broadcast(FloatVectors.SPECIES, 1f);

    private GeluKernels() {
    }

    static void register(KernelRegistry r) {
        r.register(Gelu.class, (def, op) -> (in, out, ctx) -> gelu(in[0], out[0]));
        r.register(GeluGrad.class, (def, op) -> (in, out, ctx) -> geluGrad(in[0], in[1], out[0]));
    }

    static double value(double x) {
        return x / (1 + Exponential.exp(-K * (x + A * x * x * x)));
    }

    /** {@code d/dx [x s(u)] = s + x u' s (1 - s)} with {@code s = sigmoid(u)}, {@code u' = K (1 + 3 A x^2)}. */
    static double derivative(double x) {
        double s = 1 / (1 + Exponential.exp(-K * (x + A * x * x * x)));
        return s + x * K * (1 + 3 * A * x * x) * s * (1 - s);
    }

    private static void gelu(INDArray input, INDArray output) {
        INDArray x = RawBuffers.readable(input);
        INDArray y = RawBuffers.writable(output);
        int n = Math.toIntExact(x.length());
        int xo = RawBuffers.offset(x);
        int yo = RawBuffers.offset(y);
        if (x.dataType() == DataType.FLOAT) {
            FloatBuffer src = FloatLoops.view(x);
            FloatBuffer dst = FloatLoops.view(y);
            KernelThreads.inParts(n, 1, (from, to) -> {
                Blocks blocks = BLOCKS.get();
                for (int start = from; start < to; start += FloatVectors.BLOCK) {
                    int length = Math.min(FloatVectors.BLOCK, to - start);
                    src.get(start, blocks.x, 0, length);
                    geluFloats(blocks.x, blocks.y, length);
                    dst.put(start, blocks.y, 0, length);
                }
            });
        } else {
            requireDouble(x, "gelu");
            DoubleBuffer src = x.data().asNioDouble();
            DoubleBuffer dst = y.data().asNioDouble();
            for (int i = 0; i < n; i++) {
                dst.put(yo + i, value(src.get(xo + i)));
            }
        }
        RawBuffers.commit(y, output);
    }

    private static void geluGrad(INDArray gradient, INDArray input, INDArray output) {
        INDArray dy = RawBuffers.readable(gradient);
        INDArray x = RawBuffers.readable(input);
        INDArray d = RawBuffers.writable(output);
        int n = Math.toIntExact(x.length());
        int go = RawBuffers.offset(dy);
        int xo = RawBuffers.offset(x);
        int doff = RawBuffers.offset(d);
        if (x.dataType() == DataType.FLOAT) {
            FloatBuffer g = FloatLoops.view(dy);
            FloatBuffer src = FloatLoops.view(x);
            FloatBuffer dst = FloatLoops.view(d);
            KernelThreads.inParts(n, 1, (from, to) -> {
                Blocks blocks = BLOCKS.get();
                for (int start = from; start < to; start += FloatVectors.BLOCK) {
                    int length = Math.min(FloatVectors.BLOCK, to - start);
                    g.get(start, blocks.g, 0, length);
                    src.get(start, blocks.x, 0, length);
                    geluGradFloats(blocks.g, blocks.x, blocks.y, length);
                    dst.put(start, blocks.y, 0, length);
                }
            });
        } else {
            requireDouble(x, "gelu_grad");
            DoubleBuffer g = dy.data().asNioDouble();
            DoubleBuffer src = x.data().asNioDouble();
            DoubleBuffer dst = d.data().asNioDouble();
            for (int i = 0; i < n; i++) {
                dst.put(doff + i, g.get(go + i) * derivative(src.get(xo + i)));
            }
        }
        RawBuffers.commit(d, output);
    }

    /** y = x / (1 + e^u) with u = -K (x + A x^3), in float, whole vectors over the padded arrays. */
    static void geluFloats(float[] x, float[] y, int length) {
        for (int i = 0; i < length; i += FloatVectors.LANES) {
            FloatVector v = FloatVector.fromArray(FloatVectors.SPECIES, x, i);
            FloatVector u = v.mul(v).mul(v).mul(A_F).add(v).mul(-K_F);
            v.div(FloatVectors.exp(u).add(1f)).intoArray(y, i);
        }
    }

    /**
     * d = g (s + x K (1 + 3 A x^2) s (1 - s)) with s = 1 / (1 + e^u), in float; 1 - s is computed
     * as e^u s, since subtracting s from 1 loses most of its digits for large x.
     */
    static void geluGradFloats(float[] g, float[] x, float[] d, int length) {
        for (int i = 0; i < length; i += FloatVectors.LANES) {
            FloatVector v = FloatVector.fromArray(FloatVectors.SPECIES, x, i);
            FloatVector square = v.mul(v);
            FloatVector e = FloatVectors.exp(square.mul(v).mul(A_F).add(v).mul(-K_F));
            FloatVector s = ONE.div(e.add(1f));
            FloatVector slope = square.mul(3 * A_F).add(1f).mul(K_F).mul(v);
            FloatVector derivative = slope.mul(s).mul(e.mul(s)).add(s);
            FloatVector.fromArray(FloatVectors.SPECIES, g, i).mul(derivative).intoArray(d, i);
        }
    }

    /** Each thread's blocks: a kernel's parts may run on several threads at once ({@link KernelThreads}). */
    private static final ThreadLocal<Blocks> BLOCKS = ThreadLocal.withInitial(Blocks::new);

    /**
     * A thread's heap arrays for one block (a whole number of vectors; the lanes past a short
     * block's end compute on stale values and are not written back).
     */
    private static final class Blocks {
        final float[] x = new float[FloatVectors.BLOCK];
        final float[] g = new float[FloatVectors.BLOCK];
        final float[] y = new float[FloatVectors.BLOCK];
    }

    private static void requireDouble(INDArray x, String opType) {
        if (x.dataType() != DataType.DOUBLE) {
            throw new IllegalArgumentException(opType + " supports F32 and F64 tensors, got " + x.dataType());
        }
    }
}
