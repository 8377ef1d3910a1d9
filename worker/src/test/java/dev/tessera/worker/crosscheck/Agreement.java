package dev.tessera.worker.crosscheck;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.tessera.graph.DType;
import dev.tessera.tensor.HostTensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Compares Tessera's loss and gradients with an independent implementation's.
 *
 * <p>A gradient agrees when both hold:
 * <ul>
 *   <li>normwise: {@code ||tessera - reference|| / ||reference|| <= tolerance};
 *   <li>element-wise: {@code |tessera - reference| <= tolerance * max(|reference|, floor)} for
 *       every element, where the floor is 1e-2 of the parameter's largest gradient element.
 * </ul>
 * The floor is there because an element that is a sum of cancelling terms carries the
 * rounding error of its terms, not of its own small value: in F32 a 16-term sum of values near
 * the largest element is only exact to about {@code 4 * 1.2e-7} of that element, which a
 * 1e-4 relative bound on an element 1e-3 times smaller would demand to be 10 times better.
 * With the floor at 1e-2, the allowance on such elements is {@code 1e-6} of the largest, still
 * about eight F32 units in the last place.
 */
final class Agreement {
    private static final double FLOOR_FRACTION = 1e-2;

    private Agreement() {
    }

    /** The tolerance the issue asks for: 1e-4 relative in F32, 1e-9 in F64. */
    static double tolerance(DType dtype) {
        return dtype == DType.F32 ? 1e-4 : 1e-9;
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
        assertEquals(reference, tessera, tolerance(dtype) * Math.max(1.0, Math.abs(reference)),
                "loss: Tessera " + tessera + ", reference " + reference);
    }

    /**
     * Asserts that every parameter's gradient agrees, and that both sides have the same set of
     * parameters. Returns, per parameter, the worst element-wise and the normwise relative
     * error, for the test to print. Every disagreement is listed in the failure, not only the
     * first.
     *
     * @param zeroInExactArithmetic parameters whose gradient is exactly zero in exact arithmetic
     *     (both sides then hold only rounding noise, which no relative bound can compare): for
     *     them every element on both sides must be within {@code tolerance} of the largest
     *     gradient element of the whole model
     */
    static Map<String, String> assertGradientsAgree(Map<String, HostTensor> tessera,
            Map<String, double[]> reference, DType dtype, Set<String> zeroInExactArithmetic) {
        if (!tessera.keySet().equals(reference.keySet())) {
            fail("parameters differ: Tessera " + new TreeMap<>(tessera).keySet() + ", reference "
                    + new TreeMap<>(reference).keySet());
        }
        double tolerance = tolerance(dtype);
        double modelLargest = 0;
        for (double[] values : reference.values()) {
            modelLargest = Math.max(modelLargest, largest(values));
        }
        Map<String, String> worst = new TreeMap<>();
        List<String> failures = new ArrayList<>();
        for (Map.Entry<String, HostTensor> e : tessera.entrySet()) {
            String name = e.getKey();
            HostTensor ours = e.getValue();
            double[] theirs = reference.get(name);
            if (theirs.length != ours.size()) {
                failures.add("gradient of '" + name + "' has " + ours.size() + " elements in Tessera (" + ours.shape()
                        + ") but " + theirs.length + " in the reference");
                continue;
            }
            if (zeroInExactArithmetic.contains(name)) {
                double noise = Math.max(largest(theirs), largest(ours.convert(DType.F64).doubles())) / modelLargest;
                if (!(noise <= tolerance)) {
                    failures.add("gradient of '" + name + "' should be zero, but reaches " + noise
                            + " of the model's largest gradient element (> " + tolerance + ")");
                }
                worst.put(name, String.format("zero, noise %.1e of largest", noise));
                continue;
            }
            double largest = largest(theirs);
            if (largest == 0) {
                failures.add("reference gradient of '" + name + "' is all zeros: the cross-check would prove nothing");
                continue;
            }
            double floor = FLOOR_FRACTION * largest;
            double worstError = 0;
            int worstElement = 0;
            double differenceSquares = 0;
            double referenceSquares = 0;
            for (int i = 0; i < theirs.length; i++) {
                double difference = ours.getDouble(i) - theirs[i];
                differenceSquares += difference * difference;
                referenceSquares += theirs[i] * theirs[i];
                double error = Math.abs(difference) / Math.max(Math.abs(theirs[i]), floor);
                if (!(error <= worstError)) {
                    worstError = error;
                    worstElement = i;
                }
            }
            double normwise = Math.sqrt(differenceSquares / referenceSquares);
            if (!(worstError <= tolerance) || !(normwise <= tolerance)) {
                failures.add("gradient of '" + name + "'" + ours.shape() + ": normwise relative error " + normwise
                        + "; worst element " + worstElement + ": Tessera " + ours.getDouble(worstElement)
                        + ", reference " + theirs[worstElement] + " (relative error " + worstError + "); tolerance "
                        + tolerance);
            }
            worst.put(name, String.format("%.1e/%.1e", worstError, normwise));
        }
        if (!failures.isEmpty()) {
            fail(failures.size() + " of " + tessera.size() + " gradients disagree:\n" + String.join("\n", failures));
        }
        return worst;
    }

    private static double largest(double[] values) {
        double largest = 0;
        for (double v : values) {
            largest = Math.max(largest, Math.abs(v));
        }
        return largest;
    }
}
