package dev.tessera.worker.kernel;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.fail;

import dev.tessera.graph.Tensor;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A small f64 central-difference gradient check over a {@link GraphHarness}: the scalar checked
 * is {@code sum(output * weights)} with fixed random weights, so every output element matters.
 * A local stand-in until the shared GradientCheck harness exists.
 */
final class FiniteDifferences {
    private static final double STEP = 1e-6;
    private static final double TOLERANCE = 1e-6;

    private FiniteDifferences() {
    }

    /** Compares the gradient rules' result with central differences for every element of each {@code wrt}. */
    static void check(GraphHarness h, Tensor output, List<Tensor> wrt, long seed) {
        int forwardOps = h.opCount();
        Nd4j.getRandom().setSeed(seed);
        INDArray weights = Nd4j.rand(DataType.DOUBLE, output.shape().toLongArray()).subi(0.5);
        Tensor seedTensor = h.input("fd_seed_" + output.id(), weights);
        Map<Tensor, Tensor> grads = h.backward(Map.of(output, seedTensor));
        h.runAll();
        for (Tensor t : wrt) {
            Tensor gradTensor = grads.get(t);
            assertNotNull(gradTensor, "no gradient reached " + t);
            INDArray analytic = h.value(gradTensor).dup();
            INDArray value = h.value(t);
            for (long e = 0; e < value.length(); e++) {
                double original = value.getDouble(e);
                value.putScalar(e, original + STEP);
                h.run(forwardOps);
                double plus = h.value(output).mul(weights).sumNumber().doubleValue();
                value.putScalar(e, original - STEP);
                h.run(forwardOps);
                double minus = h.value(output).mul(weights).sumNumber().doubleValue();
                value.putScalar(e, original);
                double numeric = (plus - minus) / (2 * STEP);
                double a = analytic.getDouble(e);
                if (Math.abs(a - numeric) > TOLERANCE * Math.max(1.0, Math.max(Math.abs(a), Math.abs(numeric)))) {
                    fail("gradient of " + t.name() + " element " + e + ": rule gives " + a + ", central difference "
                            + numeric);
                }
            }
        }
        h.run(forwardOps);
    }
}
