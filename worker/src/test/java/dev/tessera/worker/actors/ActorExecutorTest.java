package dev.tessera.worker.actors;

import static dev.tessera.worker.actors.TrainingModels.adamW;
import static dev.tessera.worker.actors.TrainingModels.batches;
import static dev.tessera.worker.actors.TrainingModels.learningRates;
import static dev.tessera.worker.actors.TrainingModels.parametersAndState;
import static dev.tessera.worker.actors.TrainingModels.reference;
import static dev.tessera.worker.actors.TrainingModels.requireSameTraining;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.optim.Optimizer;
import dev.tessera.runtime.plan.ActorKind;
import dev.tessera.runtime.plan.ActorSpec;
import dev.tessera.runtime.plan.ConsumerRef;
import dev.tessera.runtime.plan.Plan;
import dev.tessera.runtime.trace.Trace;
import dev.tessera.runtime.trace.TraceEvent;
import dev.tessera.tensor.HostTensor;
import dev.tessera.tensor.Tolerance;
import dev.tessera.worker.exec.ReferenceExecutor;
import dev.tessera.worker.exec.StepResult;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** One device on actors ({@link ParallelExecutor#onOneDevice}) computes exactly what the reference computes. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ActorExecutorTest {
    private static final int ITERATIONS = 4;

    @ParameterizedTest(name = "{0} micro-batches, register quota {1}")
    @CsvSource({"1, 1", "2, 1", "2, 2", "3, 2"})
    void shouldReproduceTheReferenceMlpTrainingBitForBit(int microBatches, int quota) throws Exception {
        TrainingGraph graph = TrainingModels.mlp(microBatches, adamW(), 0.5);
        assertSameTraining(graph, false, microBatches, ActorExecutorOptions.defaults().withRegisterQuota(quota));
    }

    @ParameterizedTest(name = "{0} micro-batches, register quota {1}")
    @CsvSource({"1, 1", "2, 1", "2, 2"})
    void shouldReproduceTheReferenceGptTrainingBitForBit(int microBatches, int quota) throws Exception {
        TrainingGraph graph = TrainingModels.gpt(microBatches, adamW(), 1.0);
        assertSameTraining(graph, true, microBatches, ActorExecutorOptions.defaults().withRegisterQuota(quota));
    }

    @Test
    void shouldReproduceSgdWithMomentumWithoutClipping() throws Exception {
        TrainingGraph graph = TrainingModels.mlp(2, new Optimizer.Sgd(0.9, 0.01), 0);
        assertSameTraining(graph, false, 2, ActorExecutorOptions.defaults());
    }

    @Test
    void shouldLetSourcesLoadUpToTheirOwnQuotaAheadOfTheirConsumersAndStillMatchTheReference() {
        int microBatches = 4;
        TrainingGraph graph = TrainingModels.mlp(microBatches, adamW(), 0.5);
        List<List<Map<String, HostTensor>>> data = batches(false, ITERATIONS, microBatches, 42);
        double[] rates = learningRates(ITERATIONS);
        ActorExecutorOptions options = ActorExecutorOptions.defaults().withRegisterQuota(1).withSourceQuota(3)
                .withTrace(true);
        try (ReferenceExecutor reference = new ReferenceExecutor(graph, 7);
                ParallelExecutor actors = ParallelExecutor.onOneDevice(graph, 7, options)) {
            List<StepResult> expected = reference(reference, data, rates);
            List<StepResult> actual = actors.run(data, rates);
            requireSameTraining(Tolerance.EXACT, expected, actual, parametersAndState(reference),
                    parametersAndState(actors));

            Trace trace = actors.lastTrace().orElseThrow();
            Plan plan = trace.plan();
            List<TraceEvent> events = trace.events();
            long steps = (long) ITERATIONS * microBatches;
            int sources = 0;
            for (ActorSpec source : plan.actors()) {
                if (source.kind() != ActorKind.SOURCE) {
                    continue;
                }
                sources++;
                int deepest = 0;
                for (ConsumerRef consumer : plan.consumers(source.id(), 0)) {
                    for (long step = 0; step < steps; step++) {
                        int ahead = stepsUnfinishedWhenStarted(events, source.id(), consumer.consumer(), step);
                        assertTrue(ahead <= 3, source.name() + " started step " + step + " with " + ahead
                                + " steps not yet finished by " + plan.actor(consumer.consumer()).name());
                        deepest = Math.max(deepest, ahead);
                    }
                }
                assertEquals(3, deepest, source.name() + " never loaded 3 micro-batches ahead of its consumers");
            }
            assertEquals(2, sources, "the MLP reads x and labels");
        }
    }

    /**
     * Steps up to and including {@code step} that {@code producer} had started and {@code consumer}
     * had not yet finished when the producer started {@code step}: how far ahead it ran.
     */
    private static int stepsUnfinishedWhenStarted(List<TraceEvent> events, int producer, int consumer, long step) {
        long start = events.stream().filter(e -> e.actor().id() == producer && e.step() == step)
                .findFirst().orElseThrow().startNanos();
        return (int) events.stream()
                .filter(e -> e.actor().id() == consumer && e.step() <= step && e.endNanos() > start).count();
    }

    @Test
    void shouldContinueAcrossRunsAsOneLongRun() {
        TrainingGraph graph = TrainingModels.mlp(2, adamW(), 0.5);
        List<List<Map<String, HostTensor>>> data = batches(false, 6, 2, 3);
        double[] rates = learningRates(6);
        try (ParallelExecutor once = ParallelExecutor.onOneDevice(graph, 11);
                ParallelExecutor chunked = ParallelExecutor.onOneDevice(graph, 11)) {
            List<StepResult> whole = once.run(data, rates);
            List<StepResult> parts = new ArrayList<>(chunked.run(data.subList(0, 2),
                    java.util.Arrays.copyOfRange(rates, 0, 2)));
            parts.add(chunked.step(data.get(2), rates[2]));
            parts.addAll(chunked.run(data.subList(3, 6), java.util.Arrays.copyOfRange(rates, 3, 6)));
            requireSameTraining(Tolerance.EXACT, whole, parts, parametersAndState(once), parametersAndState(chunked));
            assertEquals(6, chunked.iteration());
        }
    }

    @Test
    void shouldRestoreAndResumeLikeAnUninterruptedRun() {
        TrainingGraph graph = TrainingModels.mlp(1, adamW(), 0.5);
        List<List<Map<String, HostTensor>>> data = batches(false, 4, 1, 4);
        double[] rates = learningRates(4);
        try (ParallelExecutor straight = ParallelExecutor.onOneDevice(graph, 2);
                ParallelExecutor first = ParallelExecutor.onOneDevice(graph, 2);
                ParallelExecutor resumed = ParallelExecutor.onOneDevice(graph, 99)) {
            List<StepResult> expected = straight.run(data, rates);
            first.run(data.subList(0, 2), java.util.Arrays.copyOfRange(rates, 0, 2));
            resumed.restore(first.parameters(), first.optimizerState(), first.iteration());
            List<StepResult> rest = resumed.run(data.subList(2, 4), java.util.Arrays.copyOfRange(rates, 2, 4));
            requireSameTraining(Tolerance.EXACT, expected.subList(2, 4), rest, parametersAndState(straight),
                    parametersAndState(resumed));
        }
    }

    @Test
    void shouldComputeTheReferenceGradients() {
        TrainingGraph graph = TrainingModels.gpt(2, adamW(), 1.0);
        List<Map<String, HostTensor>> microBatches = batches(true, 1, 2, 8).get(0);
        try (ReferenceExecutor reference = new ReferenceExecutor(graph, 5);
                ParallelExecutor actors = ParallelExecutor.onOneDevice(graph, 5)) {
            Tolerance.EXACT.requireClose("gradients", reference.gradients(microBatches),
                    actors.gradients(microBatches));
        }
    }

    static void assertSameTraining(TrainingGraph graph, boolean gpt, int microBatches, ActorExecutorOptions options) {
        List<List<Map<String, HostTensor>>> data = batches(gpt, ITERATIONS, microBatches, 42);
        double[] rates = learningRates(ITERATIONS);
        try (ReferenceExecutor reference = new ReferenceExecutor(graph, 7);
                ParallelExecutor actors = ParallelExecutor.onOneDevice(graph, 7, options)) {
            List<StepResult> expected = reference(reference, data, rates);
            List<StepResult> actual = actors.run(data, rates);
            requireSameTraining(Tolerance.EXACT, expected, actual, parametersAndState(reference),
                    parametersAndState(actors));
            assertEquals(ITERATIONS, actors.iteration());
        }
    }
}
