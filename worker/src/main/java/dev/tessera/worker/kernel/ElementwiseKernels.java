package dev.tessera.worker.kernel;

import dev.tessera.ops.Gelu;
import dev.tessera.ops.GeluGrad;
import dev.tessera.ops.Mul;
import dev.tessera.ops.Relu;
import dev.tessera.ops.ReluGrad;
import dev.tessera.ops.Scale;
import dev.tessera.ops.Tanh;
import dev.tessera.ops.TanhGrad;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.scalar.RectifiedLinear;
import org.nd4j.linalg.api.ops.impl.scalar.RectifiedLinearDerivative;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Sigmoid;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Kernels of element-wise ops (products, activations and their backward ops), plus the
 * registration of the axis and dropout kernels of the same op group. Every kernel writes its
 * result through ND4J ops with an explicit result array, so the hot path allocates no tensors.
 */
final class ElementwiseKernels {
    /** {@code 2 sqrt(2/pi)}: GELU is {@code x sigmoid(u)} with {@code u = K (x + 0.044715 x^3)}. */
    private static final double K = 2 * Gelu.SQRT_2_OVER_PI;
    private static final double A = Gelu.CUBIC;

    private ElementwiseKernels() {
    }

    static void register(KernelRegistry r) {
        r.register(Mul.class, (def, op) -> (in, out, ctx) -> in[0].mul(in[1], out[0]));
        r.register(Scale.class, (def, op) -> (in, out, ctx) -> in[0].mul(def.factor(), out[0]));
        r.register(Relu.class, (def, op) -> (in, out, ctx) ->
                Nd4j.getExecutioner().exec(new RectifiedLinear(in[0], out[0], 0.0)));
        // relu_grad inputs are (dy, x); ND4J's derivative op takes (x, dy) and yields dy where x > 0.
        r.register(ReluGrad.class, (def, op) -> (in, out, ctx) ->
                Nd4j.getExecutioner().exec(new RectifiedLinearDerivative(in[1], in[0], out[0])));
        r.register(Tanh.class, (def, op) -> (in, out, ctx) ->
                Nd4j.getExecutioner().exec(new org.nd4j.linalg.api.ops.impl.transforms.strict.Tanh(in[0], out[0])));
        r.register(TanhGrad.class, (def, op) -> (in, out, ctx) -> tanhGrad(in[0], in[1], out[0]));
        r.register(Gelu.class, (def, op) -> (in, out, ctx) -> gelu(in[0], out[0]));
        r.register(GeluGrad.class, (def, op) -> new GeluGradKernel());
        AxisKernels.register(r);
        DropoutKernels.register(r);
    }

    /** {@code dy * (1 - y^2)} in three passes over out. */
    private static void tanhGrad(INDArray dy, INDArray y, INDArray out) {
        y.mul(y, out);
        out.rsubi(1.0);
        out.muli(dy);
    }

    /**
     * {@code x sigmoid(K (x + A x^3))}, which equals {@code 0.5 x (1 + tanh(sqrt(2/pi) (x + A x^3)))}.
     * ND4J's own PreciseGELU computes {@code (A x)^3} instead of {@code A x^3}, so it is not used.
     */
    private static void gelu(INDArray x, INDArray out) {
        x.mul(x, out);
        out.muli(K * A).addi(K).muli(x);
        Nd4j.getExecutioner().exec(new Sigmoid(out, out));
        out.muli(x);
    }

    /**
     * {@code dy * gelu'(x)} with {@code gelu'(x) = s + x u' s (1 - s)}, {@code s = sigmoid(u)},
     * {@code u' = K (1 + 3 A x^2)}. Needs one scratch buffer besides the output, kept for the
     * kernel's life (shapes are fixed per op instance); a kernel runs on one thread at a time.
     */
    private static final class GeluGradKernel implements Kernel {
        private INDArray scratch;

        @Override
        public void run(INDArray[] in, INDArray[] out, KernelContext context) {
            INDArray dy = in[0];
            INDArray x = in[1];
            INDArray d = out[0];
            if (scratch == null) {
                scratch = Nd4j.createUninitialized(x.dataType(), x.shape(), 'c');
            }
            INDArray s = scratch;
            x.mul(x, s);
            s.mul(3 * A * K, d);
            d.addi(K).muli(x);
            s.muli(A * K).addi(K).muli(x);
            Nd4j.getExecutioner().exec(new Sigmoid(s, s));
            d.muli(s);
            s.rsubi(1.0);
            d.muli(s);
            s.rsubi(1.0);
            d.addi(s).muli(dy);
        }
    }
}
