package dev.tessera.worker.actors;

import static dev.tessera.worker.actors.TrainingModels.adamW;
import static dev.tessera.worker.actors.TrainingModels.batches;
import static dev.tessera.worker.actors.TrainingModels.learningRates;
import static dev.tessera.worker.actors.TrainingModels.parametersAndState;
import static dev.tessera.worker.actors.TrainingModels.reference;
import static dev.tessera.worker.actors.TrainingModels.requireSameTraining;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.autodiff.Autodiff;
import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.autodiff.TrainingOptions;
import dev.tessera.graph.DType;
import dev.tessera.graph.GraphBuilder;
import dev.tessera.graph.Initializer;
import dev.tessera.graph.Op;
import dev.tessera.graph.Phase;
import dev.tessera.graph.Shape;
import dev.tessera.graph.Tensor;
import dev.tessera.lowering.DistributedTraining;
import dev.tessera.plan.schedule.PipelineSchedule;
import dev.tessera.plan.schedule.Schedules;
import dev.tessera.tensor.HostTensor;
import dev.tessera.tensor.Tolerance;
import dev.tessera.worker.exec.ReferenceExecutor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Cases other pipeline implementations have got wrong, each trained with split-backward schedules
 * on two stages and required to equal the reference executor exactly: a weight used twice inside
 * one stage (its W gradient is the sum of both uses, once), a weight tied across the first and the
 * last stage (the two stages' gradients summed), an op with several outputs (a layer norm's output,
 * mean and inverse deviation) read by both its B and its W op, on either side of the stage cut, and
 * a W op with several outputs (scale and bias gradients), and a last micro-batch that holds fewer real examples than the others (padded with
 * ignored targets), so that micro-batches weigh what the reference weighs them.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class PipelineFailureModesTest {
    private static final int ITERATIONS = 3;
    private static final int MICRO_BATCHES = 4;

    enum Family {
        ONE_F_ONE_B_TWO_BP(Schedules::oneFOneBTwoBp), ONE_F_ONE_B_TWO_BP_WEIGHTS_AT_END(
                Schedules::oneFOneBTwoBpWeightsAtEnd), ZB_H1(Schedules::zbH1), ZB_H2(Schedules::zbH2);

        final BiFunction<Integer, Integer, PipelineSchedule> build;

        Family(BiFunction<Integer, Integer, PipelineSchedule> build) {
            this.build = build;
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Family.class)
    void shouldSumBothUsesOfAWeightUsedTwiceInOneStage(Family family) {
        GraphBuilder g = new GraphBuilder(DType.F64);
        Tensor x = g.input("x", DType.F64, TrainingModels.ROWS, 5);
        Tensor labels = g.input("labels", DType.I32, TrainingModels.ROWS);
        Tensor h = g.tanh(g.linear("fc1", x, 7));
        Tensor twice;
        try (GraphBuilder.Scope shared = g.scope("shared")) {
            Tensor w = g.parameter("weight", Initializer.xavier(7, 7), 7, 7);
            twice = g.matmul(g.tanh(g.matmul(h, w)), w);
        }
        Tensor loss = g.crossEntropy(g.linear("head", twice, 4), labels);
        TrainingGraph graph = Autodiff.build(g.build(), loss, new TrainingOptions(MICRO_BATCHES, adamW(), 0.5));
        Tensor weight = graph.forward().store().tensor("shared.weight");
        long uses = graph.forwardOps().stream().filter(op -> op.inputs().contains(weight)).count();
        assertEquals(2, uses, "the weight is read twice in the forward pass");
        long weightGradients = graph.backwardOps().stream().filter(op -> op.phase() == Phase.BACKWARD_WEIGHT)
                .filter(op -> op.forwardOp().map(f -> f.inputs().contains(weight)).orElse(false)).count();
        assertTrue(weightGradients >= 2, "the weight gradient of each use is a W op of its own: " + weightGradients);

        trainLikeTheReference(graph, Map.of("shared.", 1, "head.", 1), family,
                batches(false, ITERATIONS, MICRO_BATCHES, 3));
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Family.class)
    void shouldSumTheGradientsOfAWeightTiedAcrossTheFirstAndTheLastStage(Family family) {
        // x [6, 5] -> tied [5, 7] -> tanh -> (stage 1) tied transposed -> tanh -> head -> cross-entropy
        GraphBuilder g = new GraphBuilder(DType.F64);
        Tensor x = g.input("x", DType.F64, TrainingModels.ROWS, 5);
        Tensor labels = g.input("labels", DType.I32, TrainingModels.ROWS);
        Tensor tied = g.parameter("tied.weight", Initializer.xavier(5, 7), 5, 7);
        Tensor h;
        try (GraphBuilder.Scope first = g.scope("first")) {
            h = g.tanh(g.matmul(x, tied));
        }
        Tensor back;
        try (GraphBuilder.Scope last = g.scope("last")) {
            back = g.tanh(g.matmul(h, tied, false, true));
        }
        Tensor loss = g.crossEntropy(g.linear("head", back, 4), labels);
        TrainingGraph graph = Autodiff.build(g.build(), loss, new TrainingOptions(MICRO_BATCHES, adamW(), 0.5));

        DistributedTraining split = MultiDeviceTrainingTest.stages(graph, 2, Map.of("last.", 1, "head.", 1));
        Tensor weight = graph.forward().store().tensor("tied.weight");
        long stagesReading = graph.forwardOps().stream().filter(op -> op.inputs().contains(weight))
                .map(op -> split.assignment().placement(op)).distinct().count();
        assertEquals(2, stagesReading, "the first and the last stage both read the tied weight");
        trainLikeTheReference(graph, Map.of("last.", 1, "head.", 1), family,
                batches(false, ITERATIONS, MICRO_BATCHES, 5));
    }

    @ParameterizedTest(name = "{0}, layer norm on stage {1}")
    @CsvSource({"ONE_F_ONE_B_TWO_BP, 0", "ONE_F_ONE_B_TWO_BP, 1", "ONE_F_ONE_B_TWO_BP_WEIGHTS_AT_END, 1",
            "ZB_H1, 0", "ZB_H1, 1", "ZB_H2, 0", "ZB_H2, 1"})
    void shouldTrainAnOpWhoseSeveralOutputsFeedBothTheBAndTheWOps(Family family, int layerNormStage) {
        // x [6, 5] -> fc1 -> tanh -> layer norm (outputs y, mean, rstd) -> head -> cross-entropy
        GraphBuilder g = new GraphBuilder(DType.F64);
        Tensor x = g.input("x", DType.F64, TrainingModels.ROWS, 5);
        Tensor labels = g.input("labels", DType.I32, TrainingModels.ROWS);
        Tensor h = g.layerNorm("ln", g.tanh(g.linear("fc1", x, 7)));
        Tensor loss = g.crossEntropy(g.linear("head", h, 4), labels);
        TrainingGraph graph = Autodiff.build(g.build(), loss, new TrainingOptions(MICRO_BATCHES, adamW(), 0.5));
        Op layerNorm = graph.forwardOps().stream().filter(op -> op.outputs().size() == 3).findFirst().orElseThrow();
        for (int output = 1; output < 3; output++) {
            Tensor statistic = layerNorm.output(output);
            List<Phase> readers = graph.backwardOps().stream().filter(op -> op.inputs().contains(statistic))
                    .map(Op::phase).distinct().sorted().toList();
            assertEquals(List.of(Phase.BACKWARD_INPUT, Phase.BACKWARD_WEIGHT), readers,
                    "output " + output + " of the layer norm is read by its B and its W op");
        }
        Op weightGradient = graph.backwardOps().stream().filter(op -> op.phase() == Phase.BACKWARD_WEIGHT
                && op.outputs().size() == 2).findFirst().orElseThrow();
        assertEquals(layerNorm, weightGradient.forwardOp().orElseThrow(), "one W op computes both scale and bias");

        Map<String, Integer> stageOf = layerNormStage == 1 ? Map.of("ln.", 1, "head.", 1) : Map.of("head.", 1);
        trainLikeTheReference(graph, stageOf, family, batches(false, ITERATIONS, MICRO_BATCHES, 13));
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Family.class)
    void shouldWeighALastMicroBatchOfFewerExamplesAsTheReferenceDoes(Family family) {
        TrainingGraph graph = TrainingModels.gpt(MICRO_BATCHES, adamW(), 1.0);
        List<List<Map<String, HostTensor>>> data = new ArrayList<>();
        for (List<Map<String, HostTensor>> iteration : batches(true, ITERATIONS, MICRO_BATCHES, 11)) {
            List<Map<String, HostTensor>> padded = new ArrayList<>(iteration);
            padded.set(MICRO_BATCHES - 1, onlyFirstSequence(iteration.get(MICRO_BATCHES - 1)));
            data.add(padded);
        }
        trainLikeTheReference(graph, Map.of("block1.", 1, "ln_final.", 1, "head.", 1), family, data);
    }

    /** The batch with every sequence but the first ignored (targets -1): a smaller last micro-batch. */
    private static Map<String, HostTensor> onlyFirstSequence(Map<String, HostTensor> batch) {
        HostTensor targets = batch.get("targets");
        int[] kept = targets.ints().clone();
        int time = targets.shape().dim(1);
        for (int i = time; i < kept.length; i++) {
            kept[i] = -1;
        }
        assertTrue(java.util.Arrays.stream(kept).anyMatch(t -> t >= 0), "the first sequence has targets");
        return Map.of("tokens", batch.get("tokens"), "targets", HostTensor.ofInts(Shape.of(targets.shape().toArray()),
                kept));
    }

    private static void trainLikeTheReference(TrainingGraph graph, Map<String, Integer> stageOf, Family family,
            List<List<Map<String, HostTensor>>> data) {
        DistributedTraining split = MultiDeviceTrainingTest.stages(graph, 2, stageOf);
        assertEquals(2, split.devices().size(), "one device per stage");
        double[] rates = learningRates(ITERATIONS);
        PipelineSchedule schedule = family.build.apply(2, MICRO_BATCHES);
        try (ReferenceExecutor expected = new ReferenceExecutor(graph, 7);
                ParallelExecutor scheduled = new ParallelExecutor(split, 7, ActorExecutorOptions.defaults()
                        .withSchedule(schedule))) {
            Tolerance.EXACT.requireClose("gradients", expected.gradients(data.get(0)), scheduled.gradients(data.get(0)));
            requireSameTraining(Tolerance.EXACT, reference(expected, data, rates), scheduled.run(data, rates),
                    parametersAndState(expected), parametersAndState(scheduled));
        }
    }
}
