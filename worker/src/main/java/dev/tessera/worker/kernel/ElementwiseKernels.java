package dev.tessera.worker.kernel;

import dev.tessera.ops.Mul;
import dev.tessera.ops.Relu;
import dev.tessera.ops.ReluGrad;
import dev.tessera.ops.Scale;
import dev.tessera.ops.Tanh;
import dev.tessera.ops.TanhGrad;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.scalar.RectifiedLinear;
import org.nd4j.linalg.api.ops.impl.scalar.RectifiedLinearDerivative;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Kernels of element-wise ops (products, activations and their backward ops), plus the
 * registration of the GELU, axis and dropout kernels of the same op group. Every kernel writes
 * its result through ND4J ops with an explicit result array, so the hot path allocates no tensors.
 */
final class ElementwiseKernels {
    private ElementwiseKernels() {
    }

    static void register(KernelRegistry r) {
        r.register(Mul.class, (def, op) -> (in, out, ctx) -> in[0].mul(in[1], out[0]));
        r.register(Scale.class, (def, op) -> (in, out, ctx) -> in[0].mul(def.factor(), out[0]));
        r.register(Relu.class, (def, op) -> (in, out, ctx) -> {
            if (FloatLoops.applies(in[0], out[0])) {
                FloatLoops.relu(in[0], out[0]);
            } else {
                Nd4j.getExecutioner().exec(new RectifiedLinear(in[0], out[0], 0.0));
            }
        });
        // relu_grad inputs are (dy, x); ND4J's derivative op takes (x, dy) and yields dy where x > 0.
        r.register(ReluGrad.class, (def, op) -> (in, out, ctx) -> {
            if (FloatLoops.applies(in[0], in[1], out[0])) {
                FloatLoops.reluGrad(in[0], in[1], out[0]);
            } else {
                Nd4j.getExecutioner().exec(new RectifiedLinearDerivative(in[1], in[0], out[0]));
            }
        });
        r.register(Tanh.class, (def, op) -> (in, out, ctx) ->
                Nd4j.getExecutioner().exec(new org.nd4j.linalg.api.ops.impl.transforms.strict.Tanh(in[0], out[0])));
        r.register(TanhGrad.class, (def, op) -> (in, out, ctx) -> tanhGrad(in[0], in[1], out[0]));
        GeluKernels.register(r);
        AxisKernels.register(r);
        DropoutKernels.register(r);
    }

    /** {@code dy * (1 - y^2)} in three passes over out. */
    private static void tanhGrad(INDArray dy, INDArray y, INDArray out) {
        y.mul(y, out);
        out.rsubi(1.0);
        out.muli(dy);
    }
}
