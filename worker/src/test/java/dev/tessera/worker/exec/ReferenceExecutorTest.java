package dev.tessera.worker.exec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.autodiff.Autodiff;
import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.autodiff.TrainingOptions;
import dev.tessera.graph.DType;
import dev.tessera.graph.GraphBuilder;
import dev.tessera.graph.Shape;
import dev.tessera.graph.Tensor;
import dev.tessera.optim.Optimizer;
import dev.tessera.tensor.HostTensor;
import dev.tessera.tensor.Tolerance;
import dev.tessera.worker.GradientCheck;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ReferenceExecutorTest {
    /** F64 against a hand formula: the same arithmetic in another order. */
    private static final Tolerance EXACT_MATH = Tolerance.of(DType.F64);


    /** loss = sum(linear(x) * r) over a batch of {@code rows}: gradients scale with the rows summed. */
    private static TrainingGraph model(int rows, int microBatches, Optimizer optimizer, double clip) {
        GraphBuilder g = new GraphBuilder(DType.F64);
        Tensor x = g.input("x", DType.F64, rows, 3);
        Tensor r = g.input("r", DType.F64, rows * 2, 1);
        Tensor y = g.reshape(g.linear("fc", x, 2), 1, rows * 2);
        Tensor loss = g.reshape(g.matmul(y, r));
        return Autodiff.build(g.build(), loss, new TrainingOptions(microBatches, optimizer, clip));
    }

    private static Map<String, HostTensor> batch(int rows, long seed) {
        return Map.of("x", GradientCheck.random(Shape.of(rows, 3), seed),
                "r", GradientCheck.random(Shape.of(rows * 2, 1), seed + 100));
    }

    private static Map<String, HostTensor> slice(Map<String, HostTensor> full, int from, int rows) {
        double[] x = full.get("x").doubles();
        double[] r = full.get("r").doubles();
        return Map.of("x", HostTensor.ofDoubles(Shape.of(rows, 3), java.util.Arrays.copyOfRange(x, from * 3, (from + rows) * 3)),
                "r", HostTensor.ofDoubles(Shape.of(rows * 2, 1), java.util.Arrays.copyOfRange(r, from * 2, (from + rows) * 2)));
    }

    @Test
    void shouldAccumulateMicroBatchGradientsAsTheMeanOfTheirLosses() {
        Optimizer sgd = new Optimizer.Sgd(0, 0);
        Map<String, HostTensor> full = batch(8, 1);
        try (ReferenceExecutor whole = new ReferenceExecutor(model(8, 1, sgd, 0), 5);
                ReferenceExecutor split = new ReferenceExecutor(model(4, 2, sgd, 0), 5)) {
            Map<String, HostTensor> g1 = whole.gradients(List.of(full));
            Map<String, HostTensor> g2 = split.gradients(List.of(slice(full, 0, 4), slice(full, 4, 4)));
            for (String name : g1.keySet()) {
                double[] a = g1.get(name).doubles();
                double[] b = g2.get(name).doubles();
                for (int i = 0; i < a.length; i++) {
                    // The iteration loss is the mean of the two micro-batch sums: half the full sum.
                    EXACT_MATH.requireClose(name + "[" + i + "]", 2 * b[i], a[i]);
                }
            }
        }
    }

    @Test
    void shouldRunSeveralIterationsThroughTheExecutorInterfaceExactlyAsStepsOneByOne() {
        Optimizer adam = new Optimizer.AdamW(0.9, 0.999, 1e-8, 0.01);
        List<List<Map<String, HostTensor>>> batches = List.of(List.of(batch(4, 1)), List.of(batch(4, 2)),
                List.of(batch(4, 3)));
        double[] rates = {0.1, 0.05, 0.01};
        try (TrainingExecutor together = new ReferenceExecutor(model(4, 1, adam, 1.0), 5);
                ReferenceExecutor oneByOne = new ReferenceExecutor(model(4, 1, adam, 1.0), 5)) {
            List<StepResult> results = together.run(batches, rates);
            for (int t = 0; t < batches.size(); t++) {
                assertEquals(oneByOne.step(batches.get(t), rates[t]), results.get(t), "iteration " + t);
            }
            assertEquals(3, together.iteration());
            assertTrue(together.lastTrace().isEmpty(), "the reference does not trace");
            oneByOne.parameters().forEach((name, value) ->
                    assertArrayEquals(value.doubles(), together.parameters().get(name).doubles(), 0.0, name));
            assertThrows(IllegalArgumentException.class, () -> together.run(batches, new double[] {0.1}));
        }
    }

    @Test
    void shouldApplySgdWithMomentum() {
        try (ReferenceExecutor exec = new ReferenceExecutor(model(4, 1, new Optimizer.Sgd(0.5, 0), 0), 3)) {
            Map<String, HostTensor> b = batch(4, 2);
            double[] p0 = exec.parameters().get("fc.weight").doubles();
            double[] g0 = exec.gradients(List.of(b)).get("fc.weight").doubles();
            exec.step(List.of(b), 0.1);
            double[] p1 = exec.parameters().get("fc.weight").doubles();
            double[] g1 = exec.gradients(List.of(b)).get("fc.weight").doubles();
            exec.step(List.of(b), 0.1);
            double[] p2 = exec.parameters().get("fc.weight").doubles();
            for (int i = 0; i < p0.length; i++) {
                EXACT_MATH.requireClose("fc.weight[" + i + "] after step 1", p0[i] - 0.1 * g0[i], p1[i]);
                EXACT_MATH.requireClose("fc.weight[" + i + "] after step 2", p1[i] - 0.1 * (0.5 * g0[i] + g1[i]), p2[i]);
            }
        }
    }

    @Test
    void shouldApplyAdamWWithBiasCorrectionAndDecoupledDecay() {
        Optimizer adam = new Optimizer.AdamW(0.9, 0.99, 1e-8, 0.1);
        try (ReferenceExecutor exec = new ReferenceExecutor(model(4, 1, adam, 0), 3)) {
            Map<String, HostTensor> b = batch(4, 2);
            double[] p0 = exec.parameters().get("fc.weight").doubles();
            double[] g0 = exec.gradients(List.of(b)).get("fc.weight").doubles();
            exec.step(List.of(b), 0.01);
            double[] p1 = exec.parameters().get("fc.weight").doubles();
            for (int i = 0; i < p0.length; i++) {
                // First step: mHat = g, vHat = g^2, so the step is lr * (g / (|g| + eps) + wd * p).
                double expected = p0[i] - 0.01 * (g0[i] / (Math.abs(g0[i]) + 1e-8) + 0.1 * p0[i]);
                EXACT_MATH.requireClose("fc.weight[" + i + "]", expected, p1[i]);
            }
        }
    }

    @Test
    void shouldClipToGlobalNormAndReportTheNormBeforeClipping() {
        try (ReferenceExecutor exec = new ReferenceExecutor(model(4, 1, new Optimizer.Sgd(0, 0), 0.5), 3)) {
            Map<String, HostTensor> b = batch(4, 2);
            Map<String, HostTensor> p0 = exec.parameters();
            Map<String, HostTensor> g = exec.gradients(List.of(b));
            double norm = Math.sqrt(g.values().stream()
                    .mapToDouble(t -> java.util.Arrays.stream(t.doubles()).map(v -> v * v).sum()).sum());
            assertTrue(norm > 0.5, "test needs a gradient larger than the clip norm, got " + norm);
            StepResult result = exec.step(List.of(b), 1.0);
            EXACT_MATH.requireClose("gradient norm", norm, result.gradNorm());
            double scale = 0.5 / (norm + 1e-6);
            for (String name : p0.keySet()) {
                double[] before = p0.get(name).doubles();
                double[] after = exec.parameters().get(name).doubles();
                double[] grad = g.get(name).doubles();
                for (int i = 0; i < before.length; i++) {
                    EXACT_MATH.requireClose(name + "[" + i + "]", before[i] - scale * grad[i], after[i]);
                }
            }
        }
    }

    @Test
    void shouldContinueBitForBitAfterRestore() {
        Optimizer adam = new Optimizer.AdamW(0.9, 0.99, 1e-8, 0.01);
        List<Double> uninterrupted = new ArrayList<>();
        Map<String, HostTensor> params;
        Map<String, HostTensor> state;
        try (ReferenceExecutor exec = new ReferenceExecutor(model(4, 1, adam, 1.0), 9)) {
            for (int i = 0; i < 2; i++) {
                exec.step(List.of(batch(4, i)), 0.05);
            }
            params = exec.parameters();
            state = exec.optimizerState();
            for (int i = 2; i < 5; i++) {
                uninterrupted.add(exec.step(List.of(batch(4, i)), 0.05).loss());
            }
        }
        try (ReferenceExecutor resumed = new ReferenceExecutor(model(4, 1, adam, 1.0), 1234)) {
            resumed.restore(params, state, 2);
            for (int i = 2; i < 5; i++) {
                assertEquals(uninterrupted.get(i - 2), resumed.step(List.of(batch(4, i)), 0.05).loss(), 0.0);
            }
            assertEquals(5, resumed.iteration());
        }
    }

    @Test
    void shouldNameTheOpThatFirstProducedNaN() {
        try (ReferenceExecutor exec = new ReferenceExecutor(model(4, 1, new Optimizer.Sgd(0, 0), 0), 3)) {
            double[] w = exec.parameters().get("fc.weight").doubles();
            w[0] = Double.NaN;
            exec.setParameter("fc.weight", HostTensor.ofDoubles(Shape.of(3, 2), w));
            NonFiniteException e = assertThrows(NonFiniteException.class, () -> exec.step(List.of(batch(4, 1)), 0.1));
            assertEquals("fc.matmul", e.opName());
            assertTrue(e.getMessage().contains("step 1;"), e.getMessage());
        }
    }

    @Test
    void shouldRejectMissingOrMisshapenInput() {
        try (ReferenceExecutor exec = new ReferenceExecutor(model(4, 1, new Optimizer.Sgd(0, 0), 0), 3)) {
            IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                    () -> exec.step(List.of(Map.of("x", batch(4, 1).get("x"))), 0.1));
            assertTrue(missing.getMessage().contains("'r'"), missing.getMessage());
            IllegalArgumentException shape = assertThrows(IllegalArgumentException.class,
                    () -> exec.step(List.of(batch(5, 1)), 0.1));
            assertTrue(shape.getMessage().contains("expects [4, 3]"), shape.getMessage());
            assertThrows(IllegalArgumentException.class, () -> exec.step(List.of(batch(4, 1), batch(4, 2)), 0.1));
        }
    }

    @Test
    void shouldStartFromTheSameWeightsForTheSameSeed() {
        try (ReferenceExecutor a = new ReferenceExecutor(model(4, 1, new Optimizer.Sgd(0, 0), 0), 77);
                ReferenceExecutor b = new ReferenceExecutor(model(8, 2, new Optimizer.Sgd(0, 0), 0), 77);
                ReferenceExecutor c = new ReferenceExecutor(model(4, 1, new Optimizer.Sgd(0, 0), 0), 78)) {
            assertArrayEquals(a.parameters().get("fc.weight").doubles(), b.parameters().get("fc.weight").doubles());
            assertTrue(!java.util.Arrays.equals(a.parameters().get("fc.weight").doubles(),
                    c.parameters().get("fc.weight").doubles()));
        }
    }
}
