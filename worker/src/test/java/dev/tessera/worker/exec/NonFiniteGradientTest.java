package dev.tessera.worker.exec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.graph.DType;
import dev.tessera.optim.Optimizer;
import dev.tessera.tensor.HostTensor;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A NaN or infinity in a gradient, or a gradient norm that overflows, stops the reference
 * executor's step before anything is updated, even though the loss is finite, naming the step,
 * the gradient and the first op whose output was not finite. With clip_norm 0 the optimizer steps
 * do not read the norm, which is why both settings are run.
 */
class NonFiniteGradientTest {
    private static final Optimizer ADAM = new Optimizer.AdamW(0.9, 0.95, 1e-8, 0.1);

    @ParameterizedTest(name = "clip_norm {0}")
    @ValueSource(doubles = {0.0, 1.0})
    void shouldStopAtANonFiniteGradientBeforeAnyUpdate(double clipNorm) {
        TrainingGraph graph = ExplodingGradients.mlp(1, ADAM, clipNorm);
        try (ReferenceExecutor exec = new ReferenceExecutor(graph, 3)) {
            exec.step(List.of(ExplodingGradients.batch(1)), 0.01);
            ExplodingGradients.explodingWeights().forEach(exec::setParameter);
            Map<String, HostTensor> parameters = exec.parameters();
            Map<String, HostTensor> state = exec.optimizerState();
            assertTrue(Double.isFinite(exec.loss(List.of(ExplodingGradients.explodingBatch()))), "the loss is finite");

            NonFiniteException e = assertThrows(NonFiniteException.class,
                    () -> exec.step(List.of(ExplodingGradients.explodingBatch()), 0.01));

            assertEquals(1, e.iteration());
            assertEquals(ExplodingGradients.GRADIENT, e.tensorName());
            assertEquals("fc1.matmul.grad", e.opName(), "fc1's weight gradient is the first to overflow");
            assertTrue(e.getMessage().startsWith("gradient 'fc1.weight.grad' is not finite at step 2;"), e.getMessage());
            assertTrue(e.getMessage().contains("op 'fc1.matmul.grad'"), e.getMessage());
            assertEquals(1, exec.iteration(), "the stopped step does not count");
            assertSame(parameters, exec.parameters());
            assertSame(state, exec.optimizerState());
        }
    }

    @ParameterizedTest(name = "clip_norm {0}")
    @ValueSource(doubles = {0.0, 1.0})
    void shouldStopWhenEveryGradientIsFiniteButTheirSquaredNormOverflows(double clipNorm) {
        // fc1's weight gradient is about 1e20: finite in F32, its square is not
        TrainingGraph graph = ExplodingGradients.mlp(1, ADAM, clipNorm);
        try (ReferenceExecutor exec = new ReferenceExecutor(graph, 3)) {
            ExplodingGradients.weights(1, 5e19).forEach(exec::setParameter);
            Map<String, HostTensor> parameters = exec.parameters();
            Map<String, HostTensor> batch = ExplodingGradients.batch(1, 0);
            exec.gradients(List.of(batch)).forEach((name, gradient) ->
                    assertTrue(Arrays.stream(gradient.convert(DType.F64).doubles()).allMatch(Double::isFinite), name));

            NonFiniteException e = assertThrows(NonFiniteException.class, () -> exec.step(List.of(batch), 0.01));

            assertEquals(graph.gradNorm().name(), e.tensorName());
            assertEquals("fc1.weight.grad_squared_norm", e.opName());
            assertTrue(e.getMessage().startsWith("gradient norm 'grad_norm' is not finite at step 1;"), e.getMessage());
            assertTrue(e.getMessage().contains("overflows F32"), e.getMessage());
            assertSame(parameters, exec.parameters());
        }
    }

    @ParameterizedTest(name = "micro-batch {0}")
    @ValueSource(ints = {0, 1})
    void shouldNameTheMicroBatchWhoseGradientWentNonFinite(int poisoned) {
        TrainingGraph graph = ExplodingGradients.mlp(2, new Optimizer.Sgd(0.9, 0.0), 0.0);
        try (ReferenceExecutor exec = new ReferenceExecutor(graph, 3)) {
            // under the same weights, inputs of 1e-3 give finite gradients
            ExplodingGradients.explodingWeights().forEach(exec::setParameter);
            Map<String, HostTensor> parameters = exec.parameters();
            List<Map<String, HostTensor>> batches = poisoned == 0
                    ? List.of(ExplodingGradients.explodingBatch(), ExplodingGradients.batch(1e-3, 0))
                    : List.of(ExplodingGradients.batch(1e-3, 0), ExplodingGradients.explodingBatch());

            NonFiniteException e = assertThrows(NonFiniteException.class, () -> exec.step(batches, 0.01));

            assertEquals(ExplodingGradients.GRADIENT, e.tensorName());
            assertTrue(e.getMessage().contains("(micro-batch " + poisoned + ","), e.getMessage());
            assertSame(parameters, exec.parameters());
            assertEquals(0, exec.iteration());
        }
    }

    @ParameterizedTest(name = "clip_norm {0}")
    @ValueSource(doubles = {0.0, 1.0})
    void shouldTrainOnAfterAStoppedStepFromTheWeightsBeforeIt(double clipNorm) {
        TrainingGraph graph = ExplodingGradients.mlp(1, ADAM, clipNorm);
        try (ReferenceExecutor stopped = new ReferenceExecutor(graph, 3);
                ReferenceExecutor uninterrupted = new ReferenceExecutor(graph, 3)) {
            stopped.step(List.of(ExplodingGradients.batch(1)), 0.01);
            Map<String, HostTensor> kept = stopped.parameters();
            stopped.restore(ExplodingGradients.explodingWeights(), stopped.optimizerState(), 1);
            assertThrows(NonFiniteException.class, () -> stopped.step(List.of(ExplodingGradients.explodingBatch()), 0.01));
            stopped.restore(kept, stopped.optimizerState(), 1);
            uninterrupted.step(List.of(ExplodingGradients.batch(1)), 0.01);

            StepResult after = stopped.step(List.of(ExplodingGradients.batch(2)), 0.01);

            assertEquals(uninterrupted.step(List.of(ExplodingGradients.batch(2)), 0.01), after);
            assertSame(uninterrupted.parameters(), stopped.parameters());
            assertSame(uninterrupted.optimizerState(), stopped.optimizerState());
        }
    }

    /** Bit for bit. */
    static void assertSame(Map<String, HostTensor> expected, Map<String, HostTensor> actual) {
        assertEquals(expected.keySet(), actual.keySet());
        expected.forEach((name, value) -> assertArrayEquals(value.convert(DType.F64).doubles(),
                actual.get(name).convert(DType.F64).doubles(), 0.0, name));
    }
}
