package dev.tessera.worker.kernel;

import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.openblas.global.openblas_nolapack;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A product {@code C[i] = op(A[i]) op(B[i])} over the leading (batch) axes, one of them for a
 * plain matrix product, as one row-major BLAS gemm per matrix straight on the C-ordered buffers
 * with the transpose flags, on the CPU backend (the OpenBLAS that ND4J's CPU build ships).
 * Measured with bench MatmulBenchmark, one thread: {@code Nd4j.matmul} on rank-4 arrays took
 * 6.5x as long on gpt-addition's [64, 4, 12, 16] attention products and 1.5x on gpt-text's
 * transposed [16, 8, 128, 128] ones (it copies the transposed view first), and {@code Nd4j.gemm}
 * on the MLP's [128, 784] x [784, 256] 1.8x as long as this call. Anything else (the CUDA
 * backend, strided views, mixed dtypes) keeps ND4J's calls.
 */
final class RowMajorGemm {
    private static final boolean CPU = Nd4j.getEnvironment().isCPU();

    private RowMajorGemm() {
    }

    /** Whether {@link #run} handles these arrays: CPU backend, one float dtype, all C-contiguous. */
    static boolean applies(INDArray a, INDArray b, INDArray c) {
        DataType type = c.dataType();
        return CPU && (type == DataType.FLOAT || type == DataType.DOUBLE) && a.dataType() == type
                && b.dataType() == type && RawBuffers.contiguous(a) && RawBuffers.contiguous(b)
                && RawBuffers.contiguous(c);
    }

    /** {@code c[i] = op(a[i]) op(b[i])} over every leading index i; c is overwritten. */
    static void run(INDArray a, INDArray b, INDArray c, boolean transposeA, boolean transposeB) {
        int rank = a.rank();
        int m = (int) c.size(rank - 2);
        int n = (int) c.size(rank - 1);
        int k = (int) a.size(transposeA ? rank - 2 : rank - 1);
        long batch = c.length() / ((long) m * n);
        int lda = transposeA ? m : k;
        int ldb = transposeB ? k : n;
        int opA = transposeA ? openblas_nolapack.CblasTrans : openblas_nolapack.CblasNoTrans;
        int opB = transposeB ? openblas_nolapack.CblasTrans : openblas_nolapack.CblasNoTrans;
        long sizeA = (long) m * k;
        long sizeB = (long) k * n;
        long sizeC = (long) m * n;
        if (c.dataType() == DataType.FLOAT) {
            // Pointers at element 0 of each array, by way of the same buffer views as the Java loops.
            FloatPointer pa = new FloatPointer(FloatLoops.view(a));
            FloatPointer pb = new FloatPointer(FloatLoops.view(b));
            FloatPointer pc = new FloatPointer(FloatLoops.view(c));
            for (long i = 0; i < batch; i++) {
                openblas_nolapack.cblas_sgemm(openblas_nolapack.CblasRowMajor, opA, opB, m, n, k, 1f,
                        pa.position(i * sizeA), lda, pb.position(i * sizeB), ldb, 0f,
                        pc.position(i * sizeC), n);
            }
        } else {
            DoublePointer pa = new DoublePointer(OptimizerKernels.doubles(a));
            DoublePointer pb = new DoublePointer(OptimizerKernels.doubles(b));
            DoublePointer pc = new DoublePointer(OptimizerKernels.doubles(c));
            for (long i = 0; i < batch; i++) {
                openblas_nolapack.cblas_dgemm(openblas_nolapack.CblasRowMajor, opA, opB, m, n, k, 1.0,
                        pa.position(i * sizeA), lda, pb.position(i * sizeB), ldb, 0.0,
                        pc.position(i * sizeC), n);
            }
        }
    }
}
