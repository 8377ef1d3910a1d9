package dev.tessera.worker;

import static org.junit.jupiter.api.Assertions.fail;

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
import dev.tessera.worker.exec.ReferenceExecutor;
import dev.tessera.worker.kernel.KernelRegistry;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.BiFunction;

/**
 * Checks autodiff against central finite differences in F64: for every parameter element,
 * (L(p + h) - L(p - h)) / 2h must match the gradient the training graph computes.
 *
 * <p>To check an op on activations, make its inputs parameters ({@code g.parameter(...)} with a
 * Normal initializer) and reduce its output to a scalar with {@link #project}.
 */
public final class GradientCheck {
    private static final double STEP = 1e-6;

    private GradientCheck() {
    }

    /**
     * @param body builds the model in an F64 graph and returns its scalar loss; the map it gets
     *     receives data inputs (name to value) the body wants fed
     * @param tolerance allowed |analytic - numeric| / (1 + |numeric|) per element
     */
    public static void check(BiFunction<GraphBuilder, Map<String, HostTensor>, Tensor> body, double tolerance) {
        check(body, tolerance, KernelRegistry.standard());
    }

    /** As {@link #check(BiFunction, double)}, with extra kernels (for ops defined by a test). */
    public static void check(BiFunction<GraphBuilder, Map<String, HostTensor>, Tensor> body, double tolerance,
            KernelRegistry kernels) {
        GraphBuilder g = new GraphBuilder(DType.F64);
        Map<String, HostTensor> inputs = new HashMap<>();
        Tensor loss = body.apply(g, inputs);
        LogicalGraph graph = g.build();
        TrainingGraph training = Autodiff.build(graph, loss, new TrainingOptions(1, new Optimizer.Sgd(0, 0), 0));
        try (ReferenceExecutor exec = new ReferenceExecutor(training, 42, kernels)) {
            List<Map<String, HostTensor>> batch = List.of(inputs);
            Map<String, HostTensor> analytic = exec.gradients(batch);
            Map<String, HostTensor> start = exec.parameters();
            for (Tensor p : graph.parameters()) {
                double[] values = start.get(p.name()).doubles().clone();
                double[] grad = analytic.get(p.name()).doubles();
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
                    double numeric = (plus - minus) / (2 * STEP);
                    double error = Math.abs(grad[i] - numeric) / (1 + Math.abs(numeric));
                    if (!(error <= tolerance)) {
                        fail("gradient of '" + p.name() + "'[" + i + "]: autodiff " + grad[i] + ", finite difference "
                                + numeric + " (error " + error + " > " + tolerance + ")\n" + training);
                    }
                }
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
