package dev.tessera.worker;

import dev.tessera.autodiff.Autodiff;
import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.autodiff.TrainingOptions;
import dev.tessera.graph.DType;
import dev.tessera.graph.GraphBuilder;
import dev.tessera.graph.LogicalGraph;
import dev.tessera.graph.Shape;
import dev.tessera.graph.Tensor;
import dev.tessera.optim.Optimizer;
import dev.tessera.tensor.HostTensor;
import dev.tessera.tensor.Tolerance;
import dev.tessera.worker.exec.ReferenceExecutor;
import dev.tessera.worker.kernel.KernelRegistry;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.BiFunction;

/**
 * Checks autodiff against central finite differences in F64: for every parameter element,
 * (L(p + h) - L(p - h)) / 2h must match the gradient the training graph computes, within
 * {@link #FINITE_DIFFERENCES}.
 *
 * <p>To check an op on activations, make its inputs parameters ({@code g.parameter(...)} with a
 * Normal initializer) and reduce its output to a scalar with {@link #project}.
 */
public final class GradientCheck {
    /**
     * {@code |autodiff - finite difference| <= 1e-6 + 1e-6 * |finite difference|}: the central
     * difference's own error with a step of 1e-6 in F64 (truncation near 1e-12 times the third
     * derivative, rounding near 1e-10 times the loss) stays well inside it, a wrong rule does not.
     */
    public static final Tolerance FINITE_DIFFERENCES = new Tolerance(1e-6, 1e-6);
    private static final double STEP = 1e-6;

    private GradientCheck() {
    }

    /**
     * @param body builds the model in an F64 graph and returns its scalar loss; the map it gets
     *     receives data inputs (name to value) the body wants fed
     * @throws AssertionError listing every gradient element outside {@link #FINITE_DIFFERENCES}
     */
    public static void check(BiFunction<GraphBuilder, Map<String, HostTensor>, Tensor> body) {
        check(body, KernelRegistry.standard());
    }

    /** As {@link #check(BiFunction)}, with extra kernels (for ops defined by a test). */
    public static void check(BiFunction<GraphBuilder, Map<String, HostTensor>, Tensor> body, KernelRegistry kernels) {
        GraphBuilder g = new GraphBuilder(DType.F64);
        Map<String, HostTensor> inputs = new HashMap<>();
        Tensor loss = body.apply(g, inputs);
        LogicalGraph graph = g.build();
        TrainingGraph training = Autodiff.build(graph, loss, new TrainingOptions(1, new Optimizer.Sgd(0, 0), 0));
        try (ReferenceExecutor exec = new ReferenceExecutor(training, 42, kernels)) {
            List<Map<String, HostTensor>> batch = List.of(inputs);
            Map<String, HostTensor> analytic = exec.gradients(batch);
            Map<String, HostTensor> start = exec.parameters();
            Map<String, HostTensor> numeric = new LinkedHashMap<>();
            for (Tensor p : graph.parameters()) {
                double[] values = start.get(p.name()).doubles().clone();
                double[] differences = new double[values.length];
                for (int i = 0; i < values.length; i++) {
                    double original = values[i];
                    values[i] = original + STEP;
                    exec.setParameter(p.name(), HostTensor.ofDoubles(p.shape(), values));
                    double plus = exec.loss(batch);
                    values[i] = original - STEP;
                    exec.setParameter(p.name(), HostTensor.ofDoubles(p.shape(), values));
                    double minus = exec.loss(batch);
                    values[i] = original;
                    exec.setParameter(p.name(), HostTensor.ofDoubles(p.shape(), values));
                    differences[i] = (plus - minus) / (2 * STEP);
                }
                numeric.put(p.name(), HostTensor.ofDoubles(p.shape(), differences));
            }
            List<String> mismatches = FINITE_DIFFERENCES.mismatches(numeric, analytic);
            if (!mismatches.isEmpty()) {
                throw new AssertionError("autodiff gradients differ from finite differences (" + FINITE_DIFFERENCES
                        + "):\n  " + String.join("\n  ", mismatches) + "\n" + training);
            }
        }
    }

    /** Reduces {@code t} to a scalar with fixed random weights (an input named {@code <t>.projection}). */
    public static Tensor project(GraphBuilder g, Map<String, HostTensor> inputs, Tensor t) {
        int n = (int) t.shape().size();
        Tensor flat = g.reshape(t, 1, n);
        String name = t.name() + ".projection";
        Tensor weights = g.input(name, DType.F64, n, 1);
        inputs.put(name, random(Shape.of(n, 1), 7));
        return g.reshape(g.matmul(flat, weights));
    }

    /** Reproducible values in [-1, 1). */
    public static HostTensor random(Shape shape, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        double[] v = new double[(int) shape.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = 2 * r.nextDouble() - 1;
        }
        return HostTensor.ofDoubles(shape, v);
    }
}
