package dev.tessera.tensor;

import dev.tessera.graph.DType;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;

/**
 * The one comparison of numbers and tensors in Tessera: {@code actual} is close to
 * {@code expected} when {@code |actual - expected| <= atol + rtol * |expected|}, element by
 * element. Tensors must also agree in shape, and maps of tensors in their names: a tensor or an
 * element on either side only is a mismatch, never ignored. A NaN or infinity matches only the
 * same value.
 *
 * <p>{@link #of(DType)} gives the tolerance of each dtype: f64 {@code rtol 1e-9, atol 1e-12};
 * f32 {@code rtol 1e-5, atol 1e-6}. The f32 floor is for elements that are sums which cancel
 * (a gradient entry near zero made of terms near one): their rounding error is a few ulps of the
 * terms, not of the result, so no relative bound holds for them. 1e-6 is about eight ulps of 1.0;
 * measured on the DL4J and SameDiff cross-checks, a floor of 1e-7 already needs 5.3e-6 relative
 * (gradient elements near 2e-3) and one of 1e-8 needs 2.1e-4, while at 1e-6 every element is
 * inside the floor or 1e-5 of its value. Tests that need another bound say which and why (the
 * f32 parallel-layout tests: ParallelTrainingTest in worker).
 */
public record Tolerance(double rtol, double atol) {
    /** Bit-for-bit equality (and -0.0 equals 0.0). */
    public static final Tolerance EXACT = new Tolerance(0, 0);

    private static final int LISTED_ELEMENTS = 3;

    public Tolerance {
        if (!(rtol >= 0) || !(atol >= 0)) {
            throw new IllegalArgumentException("rtol and atol must be >= 0, got " + rtol + " and " + atol);
        }
    }

    /** The tolerance for values computed in {@code dtype}. */
    public static Tolerance of(DType dtype) {
        return switch (dtype) {
            case F64 -> new Tolerance(1e-9, 1e-12);
            case F32 -> new Tolerance(1e-5, 1e-6);
            case I32 -> EXACT;
        };
    }

    public Tolerance withRelative(double relative) {
        return new Tolerance(relative, atol);
    }

    public Tolerance withAbsolute(double absolute) {
        return new Tolerance(rtol, absolute);
    }

    /** Whether one value is close to its expected value. */
    public boolean accepts(double expected, double actual) {
        if (!Double.isFinite(expected) || !Double.isFinite(actual)) {
            return Double.compare(expected, actual) == 0;
        }
        return Math.abs(actual - expected) <= atol + rtol * Math.abs(expected);
    }

    /** The mismatches of two tensors: their shapes, or the elements outside the tolerance. */
    public List<String> mismatches(String name, HostTensor expected, HostTensor actual) {
        if (!expected.shape().equals(actual.shape())) {
            return List.of(name + ": shape " + actual.shape() + ", expected " + expected.shape());
        }
        List<String> out = new ArrayList<>();
        int failing = 0;
        int worst = -1;
        double worstExcess = 0;
        for (int i = 0; i < expected.size(); i++) {
            double e = expected.getDouble(i);
            double a = actual.getDouble(i);
            if (!accepts(e, a)) {
                failing++;
                double excess = Double.isFinite(e) && Double.isFinite(a)
                        ? Math.abs(a - e) / (atol + rtol * Math.abs(e)) : Double.POSITIVE_INFINITY;
                if (worst < 0 || excess > worstExcess) {
                    worst = i;
                    worstExcess = excess;
                }
                if (failing <= LISTED_ELEMENTS) {
                    out.add(describe(name, i, e, a));
                }
            }
        }
        if (failing > LISTED_ELEMENTS) {
            out.add(name + ": " + failing + " of " + expected.size() + " elements outside " + this + "; worst "
                    + describe(name, worst, expected.getDouble(worst), actual.getDouble(worst)));
        }
        return out;
    }

    /** The mismatches of two maps of tensors: names on one side only, then each tensor's. */
    public List<String> mismatches(Map<String, HostTensor> expected, Map<String, HostTensor> actual) {
        List<String> out = new ArrayList<>();
        TreeSet<String> missing = new TreeSet<>(expected.keySet());
        missing.removeAll(actual.keySet());
        TreeSet<String> extra = new TreeSet<>(actual.keySet());
        extra.removeAll(expected.keySet());
        if (!missing.isEmpty()) {
            out.add("missing " + missing);
        }
        if (!extra.isEmpty()) {
            out.add("not expected " + extra);
        }
        for (Map.Entry<String, HostTensor> e : expected.entrySet()) {
            HostTensor a = actual.get(e.getKey());
            if (a != null) {
                out.addAll(mismatches(e.getKey(), e.getValue(), a));
            }
        }
        return out;
    }

    /** @throws AssertionError naming {@code what} and the value when it is not close */
    public void requireClose(String what, double expected, double actual) {
        if (!accepts(expected, actual)) {
            throw new AssertionError(what + ": " + actual + ", expected " + expected + " (|difference| "
                    + Math.abs(actual - expected) + " > " + bound(expected) + " = " + this + ")");
        }
    }

    /** @throws AssertionError naming {@code what} and listing every mismatch */
    public void requireClose(String what, Map<String, HostTensor> expected, Map<String, HostTensor> actual) {
        List<String> found = mismatches(expected, actual);
        if (!found.isEmpty()) {
            throw new AssertionError(what + " differ (" + this + "):\n  " + String.join("\n  ", found));
        }
    }

    /** @throws AssertionError naming {@code what} when the tensors differ in shape or any element */
    public void requireClose(String what, HostTensor expected, HostTensor actual) {
        List<String> found = mismatches(what, expected, actual);
        if (!found.isEmpty()) {
            throw new AssertionError(what + " differs (" + this + "):\n  " + String.join("\n  ", found));
        }
    }

    /** The largest difference accepted for {@code expected}. */
    public double bound(double expected) {
        return atol + rtol * Math.abs(expected);
    }

    private String describe(String name, int i, double expected, double actual) {
        return String.format(Locale.ROOT, "%s[%d]: %s, expected %s (|difference| %.3g > %.3g)", name, i, actual, expected,
                Math.abs(actual - expected), bound(expected));
    }

    @Override
    public String toString() {
        return "rtol " + rtol + ", atol " + atol;
    }
}
