package dev.tessera.worker.kernel;

import org.nd4j.linalg.api.ndarray.INDArray;

/** Reshaped views of C-ordered buffers, sharing their memory. */
final class Views {
    private Views() {
    }

    /** [..., n] as a matrix [rows, n]. */
    static INDArray rows(INDArray x) {
        long n = x.rank() == 0 ? 1 : x.size(x.rank() - 1);
        return x.reshape('c', new long[] {x.length() / n, n});
    }

    /** [..., m, n] as [batch, m, n]. */
    static INDArray batches(INDArray x) {
        int r = x.rank();
        long m = x.size(r - 2);
        long n = x.size(r - 1);
        return x.reshape('c', new long[] {x.length() / (m * n), m, n});
    }
}
