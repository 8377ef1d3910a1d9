package dev.tessera.worker.crosscheck;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.graph.DType;
import dev.tessera.graph.Shape;
import dev.tessera.tensor.HostTensor;
import dev.tessera.tensor.Tolerance;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Compares Tessera's loss and gradients with an independent implementation's, element by element
 * within {@link Tolerance#of} the dtype: {@code |tessera - reference| <= atol + rtol * |reference|},
 * f64 {@code rtol 1e-9, atol 1e-12}, f32 {@code rtol 1e-5, atol 1e-6}. Measured worst: f64 needs
 * no more than 1.6e-10 relative without any floor; f32 is within rtol 5.3e-6 with a floor of 1e-7
 * (the transformer's), and within the floor alone at 1e-6.
 */
final class Agreement {
    private Agreement() {
    }

    static DataType nd4jType(DType dtype) {
        return dtype == DType.F32 ? DataType.FLOAT : DataType.DOUBLE;
    }

    /** A C-order ND4J array of {@code dtype} holding {@code values} reshaped to {@code shape}. */
    static INDArray array(HostTensor values, DType dtype, long... shape) {
        double[] data = values.convert(DType.F64).doubles();
        return Nd4j.createFromArray(data).castTo(nd4jType(dtype)).reshape('c', shape).dup('c');
    }

    /** The elements of {@code a} in row-major order, as doubles. */
    static double[] rowMajor(INDArray a) {
        return a.castTo(DataType.DOUBLE).dup('c').data().asDouble();
    }

    static void assertLossAgrees(double tessera, double reference, DType dtype) {
        Tolerance.of(dtype).requireClose("loss", reference, tessera);
    }

    /**
     * Asserts that every parameter's gradient agrees, and that both sides have the same set of
     * parameters; every disagreement is listed in the failure, not only the first.
     *
     * @param reference per parameter, its gradient's elements in row-major order
     */
    static void assertGradientsAgree(Map<String, HostTensor> tessera, Map<String, double[]> reference, DType dtype) {
        Map<String, HostTensor> expected = new LinkedHashMap<>();
        reference.forEach((name, values) -> {
            assertTrue(values.length > 0 && Arrays.stream(values).anyMatch(v -> v != 0),
                    "reference gradient of '" + name + "' is all zeros: the cross-check would prove nothing");
            HostTensor ours = tessera.get(name);
            // a gradient with another element count keeps its own shape, so the comparison names it
            expected.put(name, ours != null && ours.size() == values.length
                    ? HostTensor.ofDoubles(ours.shape(), values)
                    : HostTensor.ofDoubles(Shape.of(values.length), values));
        });
        Tolerance.of(dtype).requireClose("gradients", expected, tessera);
    }
}
