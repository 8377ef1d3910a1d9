package dev.tessera.worker.kernel;

import dev.tessera.graph.Op;
import dev.tessera.ops.SoftmaxCrossEntropy;
import dev.tessera.ops.SoftmaxCrossEntropyGrad;
import org.nd4j.linalg.api.buffer.DataBuffer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.custom.SoftMax;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The fused softmax cross-entropy: the softmax over the vocabulary is one native call (the
 * bulk of the work), the per-row label bookkeeping is a Java loop over rows.
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
        return (in, out, ctx) -> {
            INDArray logits = Views.rows(in[0]);
            INDArray probabilitiesOut = Views.rows(out[1]);
            Nd4j.exec(new SoftMax(logits, probabilitiesOut, 1));
            DataBuffer probabilities = Dense.read(out[1]);
            DataBuffer labels = Dense.read(in[1]);
            int vocabulary = (int) logits.size(1);
            long rows = logits.size(0);
            double total = 0;
            long count = 0;
            DataBuffer logitValues = null;
            for (long r = 0; r < rows; r++) {
                int label = labels.getInt(r);
                if (label < 0) {
                    continue;
                }
                checkLabel(op, label, r, vocabulary);
                double p = probabilities.getDouble(r * vocabulary + label);
                if (p > 0) {
                    total -= Math.log(p);
                } else {
                    // The probability underflowed: take the exact log-sum-exp of this row instead.
                    if (logitValues == null) {
                        logitValues = Dense.read(in[0]);
                    }
                    total += logSumExp(logitValues, r * vocabulary, vocabulary)
                            - logitValues.getDouble(r * vocabulary + label);
                }
                count++;
            }
            out[0].putScalar(0, count == 0 ? 0.0 : total / count);
        };
    }

    /** Inputs (dLoss, probabilities, labels); dlogits = (p - onehot) * dLoss / count, 0 for ignored rows. */
    private static Kernel backward(Op op) {
        return (in, out, ctx) -> {
            DataBuffer labels = Dense.read(in[2]);
            int vocabulary = (int) in[1].size(in[1].rank() - 1);
            long rows = in[1].length() / vocabulary;
            long count = 0;
            for (long r = 0; r < rows; r++) {
                int label = labels.getInt(r);
                if (label >= 0) {
                    checkLabel(op, label, r, vocabulary);
                    count++;
                }
            }
            if (count == 0) {
                out[0].assign(0);
                return;
            }
            double factor = in[0].getDouble(0) / count;
            INDArray target = Dense.writable(out[0]);
            in[1].mul(factor, target);
            DataBuffer dlogits = target.data();
            for (long r = 0; r < rows; r++) {
                int label = labels.getInt(r);
                long base = r * vocabulary;
                if (label >= 0) {
                    dlogits.put(base + label, dlogits.getDouble(base + label) - factor);
                } else {
                    for (int j = 0; j < vocabulary; j++) {
                        dlogits.put(base + j, 0.0);
                    }
                }
            }
            Dense.commit(out[0], target);
        };
    }

    private static double logSumExp(DataBuffer values, long base, int length) {
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < length; j++) {
            max = Math.max(max, values.getDouble(base + j));
        }
        double sum = 0;
        for (int j = 0; j < length; j++) {
            sum += Math.exp(values.getDouble(base + j) - max);
        }
        return max + Math.log(sum);
    }

    private static void checkLabel(Op op, int label, long row, int vocabulary) {
        if (label >= vocabulary) {
            throw new IllegalArgumentException(op.def().type() + " op '" + op.name() + "': label " + label
                    + " at row " + row + " is not below the vocabulary size " + vocabulary
                    + "; labels must lie in [0, " + vocabulary + "), or be negative to be ignored");
        }
    }
}
