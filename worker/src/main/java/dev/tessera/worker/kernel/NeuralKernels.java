package dev.tessera.worker.kernel;

import dev.tessera.graph.Op;
import dev.tessera.ops.Embedding;
import dev.tessera.ops.EmbeddingGrad;
import dev.tessera.ops.Softmax;
import dev.tessera.ops.SoftmaxGrad;
import org.nd4j.linalg.api.buffer.DataBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.custom.SoftMax;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Kernels of the neural-network ops: softmax and embedding here, layer norm in
 * {@link LayerNormKernels}, the fused cross-entropy in {@link CrossEntropyKernels}.
 */
final class NeuralKernels {
    private NeuralKernels() {
    }

    static void register(KernelRegistry r) {
        r.register(Softmax.class, NeuralKernels::softmax);
        r.register(SoftmaxGrad.class, (def, op) -> softmaxGrad(def.scale()));
        r.register(Embedding.class, NeuralKernels::embedding);
        r.register(EmbeddingGrad.class, NeuralKernels::embeddingGrad);
        LayerNormKernels.register(r);
        CrossEntropyKernels.register(r);
    }

    /**
     * Three native calls at most: scale, add the causal mask (0 on and below the diagonal,
     * -infinity above, so exp gives exactly 0 there), and ND4J's stable softmax over rows.
     */
    private static Kernel softmax(Softmax def, Op op) {
        long cols = op.input(0).shape().dim(-1);
        double scale = def.scale();
        INDArray mask = def.causal() ? causalMask(Dense.dataType(op.input(0).dtype()), cols) : null;
        return (in, out, ctx) -> {
            INDArray x = Views.rows(in[0]);
            INDArray y = Views.rows(out[0]);
            if (scale == 1.0 && mask == null) {
                Nd4j.exec(new SoftMax(x, y, 1));
                return;
            }
            if (scale == 1.0) {
                y.assign(x);
            } else {
                x.mul(scale, y);
            }
            if (mask != null) {
                // [rows, T] -> [blocks, T * T]: every T x T block gets the same mask.
                y.reshape('c', y.length() / (cols * cols), cols * cols).addiRowVector(mask);
            }
            Nd4j.exec(new SoftMax(y, y, 1));
        };
    }

    /** A [1, T * T] row: 0 where column j <= row i, -infinity elsewhere. */
    private static INDArray causalMask(DataType type, long t) {
        INDArray mask = Nd4j.create(type, 1, t * t);
        for (long i = 0; i < t; i++) {
            for (long j = i + 1; j < t; j++) {
                mask.putScalar(i * t + j, Double.NEGATIVE_INFINITY);
            }
        }
        return mask;
    }

    /** dx = scale * y * (dy - sum(dy * y)) per row: two passes over each row in Java. */
    private static Kernel softmaxGrad(double scale) {
        return (in, out, ctx) -> {
            DataBuffer dy = Dense.read(in[0]);
            DataBuffer y = Dense.read(in[1]);
            INDArray target = Dense.writable(out[0]);
            DataBuffer dx = target.data();
            long cols = in[0].size(in[0].rank() - 1);
            long length = in[0].length();
            for (long row = 0; row < length; row += cols) {
                double dot = 0;
                for (long i = row; i < row + cols; i++) {
                    dot += dy.getDouble(i) * y.getDouble(i);
                }
                for (long i = row; i < row + cols; i++) {
                    dx.put(i, scale * y.getDouble(i) * (dy.getDouble(i) - dot));
                }
            }
            Dense.commit(out[0], target);
        };
    }

    /** Checks every id, then gathers the rows with one native call. */
    private static Kernel embedding(Embedding def, Op op) {
        int vocabulary = op.input(0).shape().dim(0);
        return (in, out, ctx) -> {
            int[] ids = (Dense.isDense(in[1]) ? in[1] : in[1].dup('c')).data().asInt();
            for (int p = 0; p < ids.length; p++) {
                checkId(op, ids[p], p, vocabulary);
            }
            INDArray rows = Views.rows(out[0]);
            if (ids.length > 0) {
                Nd4j.pullRows(in[0], rows, 1, ids);
            }
        };
    }

    /** Zeroes the table gradient, then adds row p of dy into row ids[p], in Java. */
    private static Kernel embeddingGrad(EmbeddingGrad def, Op op) {
        int vocabulary = def.vocabulary();
        return (in, out, ctx) -> {
            DataBuffer dy = Dense.read(in[0]);
            DataBuffer ids = Dense.read(in[1]);
            INDArray target = Dense.writable(out[0]);
            target.assign(0);
            DataBuffer table = target.data();
            long dim = out[0].size(1);
            long positions = in[1].length();
            for (long p = 0; p < positions; p++) {
                int id = ids.getInt(p);
                checkId(op, id, p, vocabulary);
                long from = p * dim;
                long to = id * dim;
                for (long d = 0; d < dim; d++) {
                    table.put(to + d, table.getDouble(to + d) + dy.getDouble(from + d));
                }
            }
            Dense.commit(out[0], target);
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
