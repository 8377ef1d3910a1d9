package dev.tessera.worker.kernel;

import dev.tessera.graph.Op;
import dev.tessera.ops.Embedding;
import dev.tessera.ops.EmbeddingGrad;
import dev.tessera.ops.EmbeddingShard;
import dev.tessera.ops.Softmax;
import dev.tessera.ops.SoftmaxGrad;
import java.nio.FloatBuffer;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Kernels of the neural-network ops: softmax and embedding here, layer norm in
 * {@link LayerNormKernels}, the fused cross-entropy in {@link CrossEntropyKernels}.
 */
final class NeuralKernels {
    /** Lane i holds i: compared with a row's remaining length it masks the lanes past the row's end. */
    private static final FloatVector LANE_INDEX = FloatVector.fromArray(FloatVectors.SPECIES,
            new float[] {0, 1, 2, 3, 4, 5, 6, 7}, 0);

    private NeuralKernels() {
    }

    static void register(KernelRegistry r) {
        r.register(Softmax.class, NeuralKernels::softmax);
        r.register(SoftmaxGrad.class, NeuralKernels::softmaxGrad);
        r.register(Embedding.class, NeuralKernels::embedding);
        r.register(EmbeddingGrad.class, NeuralKernels::embeddingGrad);
        r.register(EmbeddingShard.class, NeuralKernels::embeddingShard);
        LayerNormKernels.register(r);
        CrossEntropyKernels.register(r);
    }

    /**
     * One Java pass per row: the row maximum, exponentials and their sum, then the scaling. A
     * causal row i touches only columns 0..i and writes exact zeros after them. Measured on the
     * 2-core build machine, this beats ND4J's softmax (plus the scale and mask calls it needs)
     * from tiny [2, 2, 4, 4] up to [8, 4, 64, 64] scores, by far when the cores are busy.
     */
    private static Kernel softmax(Softmax def, Op op) {
        int cols = op.input(0).shape().dim(-1);
        boolean causal = def.causal();
        double scale = def.scale();
        ThreadLocal<RowBlocks> blocks = ThreadLocal.withInitial(() -> new RowBlocks(cols));
        return (in, out, ctx) -> {
            if (in[0].dataType() == DataType.FLOAT && out[0].dataType() == DataType.FLOAT) {
                INDArray x = RawBuffers.readable(in[0]);
                INDArray y = RawBuffers.writable(out[0]);
                int rows = Math.toIntExact(x.length() / cols);
                FloatBuffer xs = FloatLoops.view(x);
                FloatBuffer ys = FloatLoops.view(y);
                int parts = KernelThreads.parts(rows, cols);
                KernelThreads.run(parts, part -> softmaxFloats(xs, ys, KernelThreads.start(part, parts, rows, 1),
                        KernelThreads.start(part + 1, parts, rows, 1), causal, (float) scale, blocks.get()));
                RawBuffers.commit(y, out[0]);
                return;
            }
            Elements x = Elements.read(in[0]);
            INDArray target = RawBuffers.writable(out[0]);
            Elements y = Elements.of(target);
            long rows = in[0].length() / cols;
            for (long r = 0; r < rows; r++) {
                long base = r * cols;
                int visible = causal ? (int) (r % cols) + 1 : cols;
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < visible; j++) {
                    max = Math.max(max, x.get(base + j));
                }
                double sum = 0;
                for (int j = 0; j < visible; j++) {
                    double e = Exponential.exp(scale * (x.get(base + j) - max));
                    y.set(base + j, e);
                    sum += e;
                }
                double inverse = 1.0 / sum;
                for (int j = 0; j < visible; j++) {
                    y.set(base + j, y.get(base + j) * inverse);
                }
                for (int j = visible; j < cols; j++) {
                    y.set(base + j, 0.0);
                }
            }
            RawBuffers.commit(target, out[0]);
        };
    }

    /**
     * The F32 softmax on the float buffers (a strided input or output goes through a contiguous
     * copy), in float on the Vector API: whole rows are copied into the heap arrays a block at a
     * time, and each row's maximum, exponentials and sum run over vectors, the lanes past the
     * row's visible end masked out. The sum is taken in double, lane by lane
     * ({@link FloatVectors#sum}), so it does not depend on the machine. Rows {@code from} to
     * {@code to} (exclusive): a large tensor's rows are cut into parts for the kernel thread
     * budget ({@link KernelThreads}), each row computed alike in any part.
     */
    private static void softmaxFloats(FloatBuffer x, FloatBuffer y, int from, int to, boolean causal, float scale,
                                      RowBlocks blocks) {
        int cols = blocks.cols;
        for (int first = from; first < to; first += blocks.rows) {
            int count = Math.min(blocks.rows, to - first);
            x.get(first * cols, blocks.in, 0, count * cols);
            for (int r = 0; r < count; r++) {
                int visible = causal ? (first + r) % cols + 1 : cols;
                softmaxRow(blocks, r * cols, visible, scale);
            }
            y.put(first * cols, blocks.out, 0, count * cols);
        }
    }

    private static void softmaxRow(RowBlocks blocks, int base, int visible, float scale) {
        float[] in = blocks.in;
        float[] out = blocks.out;
        FloatVector max = FloatVector.broadcast(FloatVectors.SPECIES, Float.NEGATIVE_INFINITY);
        for (int j = 0; j < visible; j += FloatVectors.LANES) {
            FloatVector v = FloatVector.fromArray(FloatVectors.SPECIES, in, base + j);
            max = max.max(j + FloatVectors.LANES > visible ? v.blend(Float.NEGATIVE_INFINITY, past(j, visible)) : v);
        }
        float rowMax = max.reduceLanes(VectorOperators.MAX);
        FloatVector sums = FloatVector.zero(FloatVectors.SPECIES);
        for (int j = 0; j < visible; j += FloatVectors.LANES) {
            FloatVector e = FloatVectors.exp(FloatVector.fromArray(FloatVectors.SPECIES, in, base + j).sub(rowMax).mul(scale));
            if (j + FloatVectors.LANES > visible) {
                e = e.blend(0f, past(j, visible));
            }
            e.intoArray(out, base + j);
            sums = sums.add(e);
        }
        float inverse = (float) (1.0 / FloatVectors.sum(sums, blocks.lanes));
        // A row's last vector may run into the next row's outputs, which are written after it.
        for (int j = 0; j < visible; j += FloatVectors.LANES) {
            FloatVector.fromArray(FloatVectors.SPECIES, out, base + j).mul(inverse).intoArray(out, base + j);
        }
        for (int j = visible; j < blocks.cols; j++) {
            out[base + j] = 0f;
        }
    }

    /** The lanes of the vector at row index j that lie at or past {@code end}. */
    private static VectorMask<Float> past(int j, int end) {
        return LANE_INDEX.compare(VectorOperators.GE, (float) (end - j));
    }

    /**
     * A row kernel's heap arrays: as many whole rows as fit in a block (at least one), plus a
     * vector of slack so that a row's last vector never reads or writes past the arrays.
     */
    private static final class RowBlocks {
        final int cols;
        final int rows;
        final float[] in;
        final float[] other;
        final float[] out;
        final float[] lanes = new float[FloatVectors.LANES];

        RowBlocks(int cols) {
            this.cols = cols;
            this.rows = Math.max(1, FloatVectors.BLOCK / cols);
            int size = rows * cols + FloatVectors.LANES;
            in = new float[size];
            other = new float[size];
            out = new float[size];
        }
    }

    /** dx = scale * y * (dy - sum(dy * y)) per row: two passes over each row in Java. */
    private static Kernel softmaxGrad(SoftmaxGrad def, Op op) {
        double scale = def.scale();
        int columns = op.input(0).shape().dim(-1);
        ThreadLocal<RowBlocks> blocks = ThreadLocal.withInitial(() -> new RowBlocks(columns));
        return (in, out, ctx) -> {
            if (FloatLoops.applies(in[0], in[1], out[0]) && in[0].size(in[0].rank() - 1) == columns) {
                FloatBuffer dy = FloatLoops.view(in[0]);
                FloatBuffer y = FloatLoops.view(in[1]);
                FloatBuffer dx = FloatLoops.view(out[0]);
                int rows = Math.toIntExact(in[0].length() / columns);
                int parts = KernelThreads.parts(rows, columns);
                KernelThreads.run(parts, part -> softmaxGradFloats(dy, y, dx, KernelThreads.start(part, parts, rows, 1),
                        KernelThreads.start(part + 1, parts, rows, 1), (float) scale, blocks.get()));
                return;
            }
            Elements dy = Elements.read(in[0]);
            Elements y = Elements.read(in[1]);
            INDArray target = RawBuffers.writable(out[0]);
            Elements dx = Elements.of(target);
            long cols = in[0].size(in[0].rank() - 1);
            long length = in[0].length();
            for (long row = 0; row < length; row += cols) {
                double dot = 0;
                for (long i = row; i < row + cols; i++) {
                    dot += dy.get(i) * y.get(i);
                }
                for (long i = row; i < row + cols; i++) {
                    dx.set(i, scale * y.get(i) * (dy.get(i) - dot));
                }
            }
            RawBuffers.commit(target, out[0]);
        };
    }

    /** The F32 backward in float, rows in blocks as in {@link #softmaxFloats}; the row's dot product summed in double. */
    private static void softmaxGradFloats(FloatBuffer dy, FloatBuffer y, FloatBuffer dx, int from, int to, float scale,
                                          RowBlocks blocks) {
        int cols = blocks.cols;
        float[] g = blocks.in;
        float[] p = blocks.other;
        float[] out = blocks.out;
        for (int first = from; first < to; first += blocks.rows) {
            int count = Math.min(blocks.rows, to - first);
            dy.get(first * cols, g, 0, count * cols);
            y.get(first * cols, p, 0, count * cols);
            for (int base = 0; base < count * cols; base += cols) {
                FloatVector products = FloatVector.zero(FloatVectors.SPECIES);
                for (int j = 0; j < cols; j += FloatVectors.LANES) {
                    FloatVector product = FloatVector.fromArray(FloatVectors.SPECIES, g, base + j)
                            .mul(FloatVector.fromArray(FloatVectors.SPECIES, p, base + j));
                    products = products.add(j + FloatVectors.LANES > cols ? product.blend(0f, past(j, cols)) : product);
                }
                float dot = (float) FloatVectors.sum(products, blocks.lanes);
                for (int j = 0; j < cols; j += FloatVectors.LANES) {
                    FloatVector.fromArray(FloatVectors.SPECIES, p, base + j).mul(scale)
                            .mul(FloatVector.fromArray(FloatVectors.SPECIES, g, base + j).sub(dot))
                            .intoArray(out, base + j);
                }
            }
            dx.put(first * cols, out, 0, count * cols);
        }
    }

    /** Copies row ids[p] of the table to row p of the output, in Java (a row copy per position). */
    private static Kernel embedding(Embedding def, Op op) {
        return lookup(op, 0, op.input(0).shape().dim(0));
    }

    private static Kernel embeddingShard(EmbeddingShard def, Op op) {
        return lookup(op, def.rowOffset(), def.vocabulary());
    }

    /**
     * Row p of the output is row {@code ids[p] - rowOffset} of the table when the id falls in
     * the table's rows [rowOffset, rowOffset + R), zeros otherwise (a vocabulary-parallel part);
     * an id outside [0, vocabulary) is an error either way.
     */
    private static Kernel lookup(Op op, int rowOffset, int vocabulary) {
        int rows = op.input(0).shape().dim(0);
        int dim = op.input(0).shape().dim(1);
        return (in, out, ctx) -> {
            Elements table = Elements.read(in[0]);
            Elements ids = Elements.read(in[1]);
            INDArray target = RawBuffers.writable(out[0]);
            Elements y = Elements.of(target);
            long positions = in[1].length();
            for (long p = 0; p < positions; p++) {
                int id = ids.integer(p);
                checkId(op, id, p, vocabulary);
                int row = id - rowOffset;
                long to = p * dim;
                boolean held = row >= 0 && row < rows;
                long from = (long) row * dim;
                for (int d = 0; d < dim; d++) {
                    y.set(to + d, held ? table.get(from + d) : 0.0);
                }
            }
            RawBuffers.commit(target, out[0]);
        };
    }

    /** Zeroes the table gradient, then adds row p of dy into row ids[p], all in Java (no native call per run). */
    private static Kernel embeddingGrad(EmbeddingGrad def, Op op) {
        int vocabulary = def.vocabulary();
        return (in, out, ctx) -> {
            Elements dy = Elements.read(in[0]);
            Elements ids = Elements.read(in[1]);
            INDArray target = RawBuffers.writable(out[0]);
            Elements table = Elements.of(target);
            long dim = out[0].size(1);
            for (long i = 0; i < target.length(); i++) {
                table.set(i, 0.0);
            }
            long positions = in[1].length();
            for (long p = 0; p < positions; p++) {
                int id = ids.integer(p);
                checkId(op, id, p, vocabulary);
                long from = p * dim;
                long to = (long) id * dim;
                for (long d = 0; d < dim; d++) {
                    table.set(to + d, table.get(to + d) + dy.get(from + d));
                }
            }
            RawBuffers.commit(target, out[0]);
        };
    }

    private static void checkId(Op op, int id, long position, int vocabulary) {
        if (id < 0 || id >= vocabulary) {
            throw new IllegalArgumentException(op.def().type() + " op '" + op.name() + "': id " + id
                    + " at position " + position + " is outside the vocabulary [0, " + vocabulary
                    + "); check the tokenizer and the model's vocabulary size");
        }
    }
}
