package dev.tessera.worker.kernel;

import dev.tessera.graph.Op;
import dev.tessera.ops.SoftmaxCrossEntropy;
import dev.tessera.ops.SoftmaxCrossEntropyGrad;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The fused softmax cross-entropy, one Java pass per row in each direction. The loss of a row is
 * {@code log(sum(exp(x - max))) + max - x[label]}, exact even when the label's probability
 * underflows.
 */
final class CrossEntropyKernels {
    private CrossEntropyKernels() {
    }

    static void register(KernelRegistry r) {
        r.register(SoftmaxCrossEntropy.class, (def, op) -> forward(op));
        r.register(SoftmaxCrossEntropyGrad.class, (def, op) -> backward(op));
    }

    /** Inputs (logits, labels); outputs (mean loss, probabilities). */
    private static Kernel forward(Op op) {
        int vocabulary = op.input(0).shape().dim(-1);
        return (in, out, ctx) -> {
            Elements logits = Elements.read(in[0]);
            Elements labels = Elements.read(in[1]);
            INDArray target = RawBuffers.writable(out[1]);
            Elements probabilities = Elements.of(target);
            long rows = in[0].length() / vocabulary;
            double total = 0;
            long count = 0;
            for (long r = 0; r < rows; r++) {
                long base = r * vocabulary;
                int label = labels.integer(r);
                checkLabel(op, label, r, vocabulary);
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < vocabulary; j++) {
                    max = Math.max(max, logits.get(base + j));
                }
                double sum = 0;
                for (int j = 0; j < vocabulary; j++) {
                    double e = Math.exp(logits.get(base + j) - max);
                    probabilities.set(base + j, e);
                    sum += e;
                }
                double inverse = 1.0 / sum;
                for (int j = 0; j < vocabulary; j++) {
                    probabilities.set(base + j, probabilities.get(base + j) * inverse);
                }
                if (label >= 0) {
                    total += Math.log(sum) + max - logits.get(base + label);
                    count++;
                }
            }
            RawBuffers.commit(target, out[1]);
            out[0].putScalar(0, count == 0 ? 0.0 : total / count);
        };
    }

    /** Inputs (dLoss, probabilities, labels); dlogits = (p - onehot) * dLoss / count, 0 for ignored rows. */
    private static Kernel backward(Op op) {
        int vocabulary = op.input(1).shape().dim(-1);
        return (in, out, ctx) -> {
            Elements probabilities = Elements.read(in[1]);
            Elements labels = Elements.read(in[2]);
            long rows = in[1].length() / vocabulary;
            long count = 0;
            for (long r = 0; r < rows; r++) {
                int label = labels.integer(r);
                checkLabel(op, label, r, vocabulary);
                if (label >= 0) {
                    count++;
                }
            }
            double factor = count == 0 ? 0.0 : in[0].getDouble(0) / count;
            INDArray target = RawBuffers.writable(out[0]);
            Elements dlogits = Elements.of(target);
            for (long r = 0; r < rows; r++) {
                long base = r * vocabulary;
                int label = labels.integer(r);
                if (label < 0) {
                    for (int j = 0; j < vocabulary; j++) {
                        dlogits.set(base + j, 0.0);
                    }
                    continue;
                }
                for (int j = 0; j < vocabulary; j++) {
                    dlogits.set(base + j, probabilities.get(base + j) * factor);
                }
                dlogits.set(base + label, dlogits.get(base + label) - factor);
            }
            RawBuffers.commit(target, out[0]);
        };
    }

    private static void checkLabel(Op op, int label, long row, int vocabulary) {
        if (label >= vocabulary) {
            throw new IllegalArgumentException(op.def().type() + " op '" + op.name() + "': label " + label
                    + " at row " + row + " is not below the vocabulary size " + vocabulary
                    + "; labels must lie in [0, " + vocabulary + "), or be negative to be ignored");
        }
    }
}
