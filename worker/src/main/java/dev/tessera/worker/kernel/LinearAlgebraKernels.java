package dev.tessera.worker.kernel;

import dev.tessera.graph.DType;
import dev.tessera.graph.Op;
import dev.tessera.graph.Shape;
import dev.tessera.ops.Add;
import dev.tessera.ops.BiasAdd;
import dev.tessera.ops.MatMul;
import dev.tessera.ops.SumRows;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Matrix products and the additions around them. */
final class LinearAlgebraKernels {
    private LinearAlgebraKernels() {
    }

    static void register(KernelRegistry r) {
        r.register(MatMul.class, (def, op) -> matmul(def, op.input(0).shape().rank()));
        r.register(Add.class, (def, op) -> (in, out, ctx) -> {
            if (FloatLoops.applies(in[0], in[1], out[0]) && in[0].length() == in[1].length()) {
                FloatLoops.add(in[0], in[1], out[0]);
            } else {
                in[0].add(in[1], out[0]);
            }
        });
        r.register(BiasAdd.class, (def, op) -> (in, out, ctx) -> {
            if (FloatLoops.applies(in[0], in[1], out[0])) {
                FloatLoops.biasAdd(in[0], in[1], out[0]);
                return;
            }
            INDArray x2 = Views.rows(in[0]);
            Views.rows(out[0]).assign(x2).addiRowVector(in[1]);
        });
        r.register(SumRows.class, (def, op) -> sumRows(op));
    }

    /**
     * Column sums. F32: one Java pass over the rows into double sums, rounded once (gpt-text's 22
     * column sums per step took 28 ms with the gemm below, 13 ms with the pass, KernelProfile on
     * the actor executor). F64: one gemm with a row of ones, since ND4J's reduction along axis 0
     * is many times slower.
     */
    private static Kernel sumRows(Op op) {
        Shape shape = op.input(0).shape();
        int columns = shape.dim(-1);
        double[] sums = new double[columns];
        INDArray ones = Nd4j.ones(op.input(0).dtype() == DType.F64 ? DataType.DOUBLE : DataType.FLOAT,
                1, shape.rows());
        return (in, out, ctx) -> {
            if (FloatLoops.applies(in[0], out[0])) {
                FloatLoops.columnSums(in[0], out[0], sums);
                return;
            }
            BlasCalls.run(() -> Nd4j.gemm(ones, Views.rows(in[0]), out[0].reshape('c', new long[] {1, columns}),
                    false, false, 1.0, 0.0));
        };
    }

    private static Kernel matmul(MatMul def, int rank) {
        return (in, out, ctx) -> BlasCalls.run(() -> {
            if (RowMajorGemm.applies(in[0], in[1], out[0])) {
                RowMajorGemm.run(in[0], in[1], out[0], def.transposeA(), def.transposeB());
            } else if (rank == 2) {
                Nd4j.gemm(in[0], in[1], out[0], def.transposeA(), def.transposeB(), 1.0, 0.0);
            } else {
                // One native call that loops over the leading axes, not one gemm per slice.
                Nd4j.matmul(in[0], in[1], out[0], def.transposeA(), def.transposeB(), false);
            }
        });
    }
}
