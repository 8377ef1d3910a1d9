package dev.tessera.examples.eval;

import dev.tessera.tensor.HostTensor;

/**
 * Host-side reading of a logits tensor whose last axis is the classes, viewed as rows: the
 * argmax and the cross-entropy of one row. Evaluation runs rarely, so plain loops suffice.
 */
public final class Logits {
    private final HostTensor logits;
    private final int classes;

    public Logits(HostTensor logits) {
        this.logits = logits;
        this.classes = logits.shape().dim(-1);
    }

    public int classes() {
        return classes;
    }

    public int rows() {
        return logits.size() / classes;
    }

    /** The class with the largest logit in {@code row} (the first one on ties). */
    public int argmax(int row) {
        int base = row * classes;
        int best = 0;
        double bestValue = logits.getDouble(base);
        for (int c = 1; c < classes; c++) {
            double v = logits.getDouble(base + c);
            if (v > bestValue) {
                bestValue = v;
                best = c;
            }
        }
        return best;
    }

    /** {@code -log softmax(row)[target]}, computed stably (max subtracted first). */
    public double crossEntropy(int row, int target) {
        int base = row * classes;
        double max = Double.NEGATIVE_INFINITY;
        for (int c = 0; c < classes; c++) {
            max = Math.max(max, logits.getDouble(base + c));
        }
        double sum = 0;
        for (int c = 0; c < classes; c++) {
            sum += Math.exp(logits.getDouble(base + c) - max);
        }
        return Math.log(sum) + max - logits.getDouble(base + target);
    }
}
