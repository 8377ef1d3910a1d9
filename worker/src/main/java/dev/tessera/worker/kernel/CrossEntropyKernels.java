package dev.tessera.worker.kernel;

import dev.tessera.graph.Op;
import dev.tessera.ops.CountLabels;
import dev.tessera.ops.DivideByCount;
import dev.tessera.ops.SoftmaxCrossEntropySum;
import dev.tessera.ops.SoftmaxCrossEntropySumGrad;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The softmax cross-entropy, one Java pass per row in each direction, with the label count and
 * the division by it as their own kernels. The loss of a row is
 * {@code log(sum(exp(x - max))) + max - x[label]}, exact even when the label's probability
 * underflows.
 */
final class CrossEntropyKernels {
    private CrossEntropyKernels() {
    }

    static void register(KernelRegistry r) {
        r.register(SoftmaxCrossEntropySum.class, (def, op) -> forward(op));
        r.register(SoftmaxCrossEntropySumGrad.class, (def, op) -> backward(op));
        r.register(CountLabels.class, (def, op) -> (in, out, ctx) -> out[0].putScalar(0, (double) countLabels(in[0])));
        r.register(DivideByCount.class, (def, op) -> (in, out, ctx) -> {
            double count = in[1].getDouble(0);
            out[0].putScalar(0, count == 0 ? 0.0 : in[0].getDouble(0) / count);
        });
    }

    /** Labels >= 0; a negative label is padding. */
    private static long countLabels(INDArray labels) {
        Elements values = Elements.read(labels);
        long count = 0;
        for (long i = 0, n = labels.length(); i < n; i++) {
            if (values.integer(i) >= 0) {
                count++;
            }
        }
        return count;
    }

    /** Inputs (logits, labels); outputs (summed loss, probabilities). */
    private static Kernel forward(Op op) {
        int vocabulary = op.input(0).shape().dim(-1);
        return (in, out, ctx) -> {
            Elements logits = Elements.read(in[0]);
            Elements labels = Elements.read(in[1]);
            INDArray target = RawBuffers.writable(out[1]);
            Elements probabilities = Elements.of(target);
            long rows = in[0].length() / vocabulary;
            double total = 0;
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
                    double e = Exponential.exp(logits.get(base + j) - max);
                    probabilities.set(base + j, e);
                    sum += e;
                }
                double inverse = 1.0 / sum;
                for (int j = 0; j < vocabulary; j++) {
                    probabilities.set(base + j, probabilities.get(base + j) * inverse);
                }
                if (label >= 0) {
                    total += Math.log(sum) + max - logits.get(base + label);
                }
            }
            RawBuffers.commit(target, out[1]);
            out[0].putScalar(0, total);
        };
    }

    /** Inputs (dSum, probabilities, labels); dlogits = (p - onehot) * dSum, 0 for ignored rows. */
    private static Kernel backward(Op op) {
        int vocabulary = op.input(1).shape().dim(-1);
        return (in, out, ctx) -> {
            Elements probabilities = Elements.read(in[1]);
            Elements labels = Elements.read(in[2]);
            long rows = in[1].length() / vocabulary;
            double factor = in[0].getDouble(0);
            INDArray target = RawBuffers.writable(out[0]);
            Elements dlogits = Elements.of(target);
            for (long r = 0; r < rows; r++) {
                long base = r * vocabulary;
                int label = labels.integer(r);
                checkLabel(op, label, r, vocabulary);
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
