package dev.tessera.worker.kernel;

import dev.tessera.ops.Add;
import dev.tessera.ops.BiasAdd;
import dev.tessera.ops.MatMul;
import dev.tessera.ops.SumRows;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Matrix products and the additions around them. */
final class LinearAlgebraKernels {
    private LinearAlgebraKernels() {
    }

    static void register(KernelRegistry r) {
        r.register(MatMul.class, (def, op) -> matmul(def, op.input(0).shape().rank()));
        r.register(Add.class, (def, op) -> (in, out, ctx) -> in[0].add(in[1], out[0]));
        r.register(BiasAdd.class, (def, op) -> (in, out, ctx) -> {
            INDArray x2 = Views.rows(in[0]);
            Views.rows(out[0]).assign(x2).addiRowVector(in[1]);
        });
        r.register(SumRows.class, (def, op) -> (in, out, ctx) -> out[0].assign(Views.rows(in[0]).sum(0)));
    }

    private static Kernel matmul(MatMul def, int rank) {
        if (rank == 2) {
            return (in, out, ctx) -> Nd4j.gemm(in[0], in[1], out[0], def.transposeA(), def.transposeB(), 1.0, 0.0);
        }
        // Batched: one ND4J call for every leading index (a gemm per index costs a native call
        // each, which made the GPT step of bench/ 3x slower than a hand-written ND4J loop).
        return (in, out, ctx) -> {
            INDArray a = Views.batches(in[0]);
            INDArray b = Views.batches(in[1]);
            INDArray c = Views.batches(out[0]);
            Nd4j.matmul(a, b, c, def.transposeA(), def.transposeB(), false);
        };
    }
}
