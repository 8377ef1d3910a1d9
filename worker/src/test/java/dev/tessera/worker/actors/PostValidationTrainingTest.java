package dev.tessera.worker.actors;

import static dev.tessera.worker.actors.TrainingModels.BATCH;
import static dev.tessera.worker.actors.TrainingModels.ROWS;
import static dev.tessera.worker.actors.TrainingModels.adamW;
import static dev.tessera.worker.actors.TrainingModels.batches;
import static dev.tessera.worker.actors.TrainingModels.learningRates;
import static dev.tessera.worker.actors.TrainingModels.parametersAndState;
import static dev.tessera.worker.actors.TrainingModels.reference;
import static dev.tessera.worker.actors.TrainingModels.requireSameTraining;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.autodiff.MiniatureModels;
import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.autodiff.TrainingOptions;
import dev.tessera.graph.DType;
import dev.tessera.graph.Tensor;
import dev.tessera.lowering.DistributedTraining;
import dev.tessera.optim.StepValidation;
import dev.tessera.plan.schedule.PipelineSchedule;
import dev.tessera.plan.schedule.Schedules;
import dev.tessera.runtime.plan.ActorSpec;
import dev.tessera.runtime.plan.Plan;
import dev.tessera.sbp.NdSbp;
import dev.tessera.sbp.Placement;
import dev.tessera.sbp.Sbp;
import dev.tessera.sbp.infer.CostModel;
import dev.tessera.tensor.HostTensor;
import dev.tessera.tensor.Tolerance;
import dev.tessera.worker.exec.ExplodingGradients;
import dev.tessera.worker.exec.NonFiniteException;
import dev.tessera.worker.exec.ReferenceExecutor;
import dev.tessera.worker.exec.StepResult;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Post-validation (optimizer.step_validation = post-validation) trains like the reference executor
 * taking synchronised steps: the same losses, gradient norms, parameters and optimizer state, over
 * iterations that clip and iterations that do not (the clip norm is the median of the unclipped
 * run's norms, and each test checks that both kinds occurred). On one device and on pipeline
 * stages of one device each the match is exact (Tolerance.EXACT): a step that stands computed the
 * same values, a redone step restored the same values and scaled the same gradient by the same
 * factor. Data and tensor parallel layouts use ParallelTrainingTest's tolerances for their dtype
 * (F64 rtol 1e-9, atol 1e-12; F32 rtol 2e-3, atol 1e-5), which the synchronised step needs too.
 * A non-finite gradient stops the job with the reference's error and leaves every parameter and
 * state tensor as before the failing iteration.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class PostValidationTrainingTest {
    private static final int ITERATIONS = 6;
    private static final Tolerance F64 = Tolerance.of(DType.F64);
    private static final Tolerance F32 = new Tolerance(2e-3, 1e-5);

    private static TrainingGraph graph(boolean gpt, int microBatches, double clipNorm, StepValidation validation) {
        TrainingOptions options = new TrainingOptions(microBatches, adamW(), clipNorm, validation);
        return gpt ? MiniatureModels.gpt(BATCH, options) : MiniatureModels.mlp(ROWS, options);
    }

    /** The training data, the rates, and a clip norm some iterations exceed and some do not. */
    private record Run(boolean gpt, int microBatches, List<List<Map<String, HostTensor>>> data, double[] rates,
                       double clipNorm) {
        static Run of(boolean gpt, int microBatches) {
            List<List<Map<String, HostTensor>>> data = batches(gpt, ITERATIONS, microBatches, 42);
            double[] rates = learningRates(ITERATIONS);
            try (ReferenceExecutor unclipped = new ReferenceExecutor(PostValidationTrainingTest.graph(gpt, microBatches, 0.0,
                    StepValidation.BEFORE_STEP), 7)) {
                double[] norms = reference(unclipped, data, rates).stream().mapToDouble(StepResult::gradNorm)
                        .sorted().toArray();
                return new Run(gpt, microBatches, data, rates, norms[norms.length / 2]);
            }
        }

        TrainingGraph graph(StepValidation validation) {
            return PostValidationTrainingTest.graph(gpt, microBatches, clipNorm, validation);
        }

        /** Trains {@code parallel} and the synchronised reference and requires the same training. */
        void requireTrainsLikeTheSynchronisedReference(Tolerance tolerance, ParallelExecutor parallel) {
            try (ReferenceExecutor reference = new ReferenceExecutor(graph(StepValidation.BEFORE_STEP), 7)) {
                List<StepResult> expected = reference(reference, data, rates);
                List<StepResult> actual = parallel.run(data, rates);
                requireSameTraining(tolerance, expected, actual, parametersAndState(reference),
                        parametersAndState(parallel));
                assertTrue(actual.stream().anyMatch(r -> r.gradNorm() > clipNorm), "some iteration clipped");
                assertTrue(actual.stream().anyMatch(r -> r.gradNorm() <= clipNorm), "some iteration did not clip");
            }
        }
    }

    @ParameterizedTest(name = "gpt {0}")
    @ValueSource(booleans = {false, true})
    void shouldTrainOnOneDeviceExactlyLikeTheSynchronisedStep(boolean gpt) {
        Run run = Run.of(gpt, 2);
        try (ParallelExecutor parallel = ParallelExecutor.onOneDevice(run.graph(StepValidation.POST_VALIDATION), 7)) {
            run.requireTrainsLikeTheSynchronisedReference(Tolerance.EXACT, parallel);
        }
    }

    @Test
    void shouldGiveTheReferenceExecutorTheSameResultsAsTheSynchronisedStep() {
        Run run = Run.of(true, 2);
        try (ReferenceExecutor postValidation = new ReferenceExecutor(run.graph(StepValidation.POST_VALIDATION), 7);
                ReferenceExecutor synchronised = new ReferenceExecutor(run.graph(StepValidation.BEFORE_STEP), 7)) {
            requireSameTraining(Tolerance.EXACT, reference(synchronised, run.data(), run.rates()),
                    reference(postValidation, run.data(), run.rates()), parametersAndState(synchronised),
                    parametersAndState(postValidation));
        }
    }

    /** The families whose point is to fill the bubble the synchronised step leaves. */
    enum Family {
        ONE_F_ONE_B_TWO_BP(Schedules::oneFOneBTwoBp), ZB_H1(Schedules::zbH1), ZB_H2(Schedules::zbH2);

        final BiFunction<Integer, Integer, PipelineSchedule> build;

        Family(BiFunction<Integer, Integer, PipelineSchedule> build) {
            this.build = build;
        }
    }

    @ParameterizedTest(name = "{0} stages, {1}")
    @CsvSource({"2, ONE_F_ONE_B_TWO_BP", "2, ZB_H1", "2, ZB_H2", "4, ZB_H1", "4, ZB_H2"})
    void shouldTrainPipelineStagesUnderZeroBubbleSchedulesExactlyLikeTheSynchronisedStep(int stages, Family family) {
        int microBatches = 4;
        Run run = Run.of(true, microBatches);
        Map<String, Integer> byPrefix = stages == 2 ? Map.of("block1.", 1, "ln_final.", 1, "head.", 1)
                : Map.of("block0.", 1, "block1.", 2, "ln_final.", 3, "head.", 3);
        DistributedTraining split = MultiDeviceTrainingTest.stages(run.graph(StepValidation.POST_VALIDATION), stages,
                byPrefix);
        ActorExecutorOptions options = ActorExecutorOptions.defaults()
                .withSchedule(family.build.apply(stages, microBatches));
        try (ParallelExecutor parallel = new ParallelExecutor(split, 7, options)) {
            run.requireTrainsLikeTheSynchronisedReference(Tolerance.EXACT, parallel);
        }
    }

    @Test
    void shouldTrainTwoStagesPerDeviceUnderZbVExactlyLikeTheSynchronisedStep() {
        int microBatches = 4;
        Run run = Run.of(true, microBatches);
        PipelineSchedule schedule = Schedules.zbV(2, microBatches);
        Map<String, Integer> stageOfOp = new LinkedHashMap<>();
        DistributedTraining split = PipelineScheduleTrainingTest.chunks(run.graph(StepValidation.POST_VALIDATION),
                schedule, Map.of("block0.", 1, "block1.", 2, "ln_final.", 3, "head.", 3), stageOfOp);
        try (ParallelExecutor parallel = new ParallelExecutor(split, 7,
                ActorExecutorOptions.defaults().withSchedule(schedule, stageOfOp))) {
            run.requireTrainsLikeTheSynchronisedReference(Tolerance.EXACT, parallel);
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"data", "sharded optimizer state", "tensor"})
    void shouldTrainDataTensorAndShardedLayoutsLikeTheSynchronisedReference(String layout) {
        boolean gpt = layout.equals("tensor");
        Run run = Run.of(gpt, 2);
        TrainingGraph graph = run.graph(StepValidation.POST_VALIDATION);
        Map<String, NdSbp> hints = new LinkedHashMap<>();
        switch (layout) {
            case "data" -> hints.putAll(Map.of("x", split(0), "labels", split(0)));
            case "sharded optimizer state" -> {
                hints.putAll(Map.of("x", split(0), "labels", split(0)));
                for (String layer : List.of("fc1", "fc2", "head")) {
                    hints.put(layer + ".weight", split(0));
                }
            }
            default -> {
                for (String block : List.of("block0", "block1")) {
                    hints.put(block + ".fc.weight", split(1));
                    hints.put(block + ".proj.weight", split(0));
                }
            }
        }
        try (ParallelExecutor parallel = new ParallelExecutor(plan(graph, hints), 7,
                ActorExecutorOptions.defaults())) {
            run.requireTrainsLikeTheSynchronisedReference(gpt ? F32 : F64, parallel);
        }
    }

    @Test
    void shouldUpdateWithoutWaitingForTheNormAndCheckItAfterTheValidations() {
        TrainingGraph graph = graph(false, 2, 1.0, StepValidation.POST_VALIDATION);
        DistributedTraining split = MultiDeviceTrainingTest.stages(graph, 2, Map.of("head.", 1));
        Plan plan;
        try (ParallelExecutor parallel = new ParallelExecutor(split, 3, ActorExecutorOptions.defaults())) {
            plan = parallel.plan();
        }
        int updates = 0;
        int validations = 0;
        for (ActorSpec actor : plan.actors()) {
            if (actor.name().contains(".update@")) {
                updates++;
                assertFalse(actor.controlPredecessors().stream().map(id -> plan.actors().get(id))
                        .anyMatch(before -> before.op().equals("GradNormSink")), actor.name()
                        + " does not wait for this iteration's norm");
                assertTrue(actor.iterationPredecessors().stream().map(id -> plan.actors().get(id))
                        .anyMatch(before -> before.op().equals("GradNormSink") && before.device() == actor.device()),
                        actor.name() + " waits for the previous iteration's check on its device");
            }
            if (actor.name().contains(".validate_update@")) {
                validations++;
                assertTrue(plan.actors().stream().anyMatch(sink -> sink.op().equals("GradNormSink")
                        && sink.device() == actor.device() && sink.controlPredecessors().contains(actor.id())),
                        "a norm sink of its device checks after " + actor.name());
            }
        }
        assertEquals(graph.parameters().size(), updates);
        assertEquals(graph.parameters().size(), validations);
    }

    @Test
    void shouldSendTheSameBytesAsTheSynchronisedStep() {
        Map<String, NdSbp> hints = Map.of("x", split(0), "labels", split(0));
        long[] synchronised;
        long[] postValidation;
        try (ParallelExecutor before = new ParallelExecutor(plan(graph(false, 2, 1.0, StepValidation.BEFORE_STEP),
                hints), 7, ActorExecutorOptions.defaults());
                ParallelExecutor after = new ParallelExecutor(plan(graph(false, 2, 1.0,
                        StepValidation.POST_VALIDATION), hints), 7, ActorExecutorOptions.defaults())) {
            synchronised = before.traffic().orElseThrow().plannedPerIteration();
            postValidation = after.traffic().orElseThrow().plannedPerIteration();
        }
        assertEquals(List.of(synchronised[0], synchronised[1]), List.of(postValidation[0], postValidation[1]),
                "the validations read the gradients the updates already received");
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"one device", "two stages", "data parallel"})
    void shouldStopAtANonFiniteGradientLeavingEveryTensorAsBeforeTheIteration(String layout) {
        TrainingOptions options = new TrainingOptions(1, adamW(), 1.0, StepValidation.POST_VALIDATION);
        TrainingGraph graph = ExplodingGradients.mlp(options);
        TrainingGraph synchronisedGraph = ExplodingGradients.mlp(options.withStepValidation(StepValidation.BEFORE_STEP));
        DistributedTraining plan = switch (layout) {
            case "one device" -> DistributedTraining.plan(graph, Placement.onNode(0, 1), Map.of(), CostModel.standard());
            case "two stages" -> MultiDeviceTrainingTest.stages(graph, 2, Map.of("head.", 1));
            default -> plan(graph, Map.of("x", split(0), "labels", split(0)));
        };
        Map<String, HostTensor> poisoned = layout.equals("data parallel") ? ExplodingGradients.batch(1e22, 3)
                : ExplodingGradients.explodingBatch();
        double[] rates = {0.01, 0.01};
        try (ParallelExecutor parallel = new ParallelExecutor(plan, 3, ActorExecutorOptions.defaults());
                ReferenceExecutor reference = new ReferenceExecutor(synchronisedGraph, 3)) {
            parallel.step(List.of(ExplodingGradients.batch(1)), rates[0]);
            Map<String, HostTensor> state = parallel.optimizerState();
            parallel.restore(ExplodingGradients.explodingWeights(), state, 1);
            reference.restore(ExplodingGradients.explodingWeights(), state, 1);
            NonFiniteException expected = assertThrows(NonFiniteException.class,
                    () -> reference.step(List.of(poisoned), rates[0]));

            NonFiniteException e = assertThrows(NonFiniteException.class,
                    () -> parallel.run(List.of(List.of(poisoned), List.of(ExplodingGradients.batch(2))), rates));

            assertEquals(expected.iteration(), e.iteration());
            assertTrue(e.getMessage().startsWith("gradient '" + e.tensorName() + "' is not finite at step 2;"),
                    e.getMessage());
            assertEquals(1, parallel.iteration());
            Tolerance.EXACT.requireClose("parameters", ExplodingGradients.explodingWeights(), parallel.parameters());
            Tolerance.EXACT.requireClose("optimizer state", state, parallel.optimizerState());
        }
    }

    private static DistributedTraining plan(TrainingGraph graph, Map<String, NdSbp> byName) {
        Map<Tensor, NdSbp> hints = new LinkedHashMap<>();
        byName.forEach((name, sbp) -> hints.put(graph.forward().store().tensor(name), sbp));
        return DistributedTraining.plan(graph, Placement.onNode(0, 2), hints, CostModel.standard());
    }

    private static NdSbp split(int axis) {
        return NdSbp.of(Sbp.split(axis));
    }
}
