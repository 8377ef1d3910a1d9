package dev.tessera.worker.actors;

import static dev.tessera.worker.actors.TrainingModels.adamW;
import static dev.tessera.worker.actors.TrainingModels.batches;
import static dev.tessera.worker.actors.TrainingModels.learningRates;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.graph.Op;
import dev.tessera.graph.Tensor;
import dev.tessera.lowering.DistributedTraining;
import dev.tessera.optim.Optimizer;
import dev.tessera.plan.schedule.PipelineSchedule;
import dev.tessera.plan.schedule.Schedules;
import dev.tessera.sbp.DeviceId;
import dev.tessera.sbp.NdSbp;
import dev.tessera.sbp.Placement;
import dev.tessera.sbp.Sbp;
import dev.tessera.sbp.infer.CostModel;
import dev.tessera.sbp.infer.StageRules;
import dev.tessera.tensor.HostTensor;
import dev.tessera.tensor.Tolerance;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The layouts of the virtual-device tests cut into 2, 3 and 4 processes, each process bound to its
 * own fragment only ({@link ProcessExecutor}: remote edges as receive sources and send sinks,
 * collectives across processes over the transport) and the parts assembled as a coordinator
 * does: bit for bit what the same layout computes on virtual devices in one executor (gradients
 * before training, every loss and gradient norm of 3 iterations, every parameter and optimizer
 * state tensor after them, and the bytes each device sent). The virtual-device run is itself
 * checked against the reference executor by ParallelTrainingTest and PipelineScheduleTrainingTest
 * (F64 within rtol 1e-9, atol 1e-12; F32 within the tolerances stated there), so this holds the
 * multi-process run to the same. Here the processes share an in-process transport; the same
 * fragments between OS processes over Aeron are ProcessFragmentsOverAeronTest's.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class ProcessFragmentTrainingTest {
    private static final int ITERATIONS = 3;
    static final int MICRO_BATCHES = 4;

    /** A layout of the virtual-device tests, with the pipeline schedule it follows (none: dataflow). */
    enum Layout {
        MLP_DATA_PARALLEL, MLP_TENSOR_PARALLEL, MLP_TWO_BY_TWO, MLP_SHARDED_STATE, GPT_VOCABULARY_PARALLEL,
        MLP_THREE_STAGES, GPT_FOUR_STAGES, GPT_TWO_DATA_PARALLEL_STAGES,
        /** The GPT stack's four stages, two per device, where the schedule's chunked placement puts them. */
        GPT_TWO_STAGES_PER_DEVICE
    }

    /** A schedule family, built from the number of pipeline devices and of micro-batches. */
    enum Schedule {
        NONE(null), ONE_F_ONE_B(Schedules::oneFOneB), ZB_H1(Schedules::zbH1), GPIPE(Schedules::gpipe),
        ONE_F_ONE_B_TWO_BP(Schedules::oneFOneBTwoBp),
        ONE_F_ONE_B_TWO_BP_WEIGHTS_AT_END(Schedules::oneFOneBTwoBpWeightsAtEnd), ZB_H2(Schedules::zbH2),
        INTERLEAVED_ONE_F_ONE_B((devices, microBatches) -> Schedules.interleavedOneFOneB(devices, microBatches, 2)),
        ZB_V(Schedules::zbV);

        final BiFunction<Integer, Integer, PipelineSchedule> build;

        Schedule(BiFunction<Integer, Integer, PipelineSchedule> build) {
            this.build = build;
        }
    }

    @ParameterizedTest(name = "{0}, {1}, {2} processes")
    @CsvSource({
        "MLP_DATA_PARALLEL, NONE, 2", "MLP_DATA_PARALLEL, NONE, 4",
        "MLP_TENSOR_PARALLEL, NONE, 2", "MLP_TENSOR_PARALLEL, NONE, 4",
        "MLP_TWO_BY_TWO, NONE, 2", "MLP_TWO_BY_TWO, NONE, 4",
        "MLP_SHARDED_STATE, NONE, 2", "MLP_SHARDED_STATE, NONE, 4",
        "GPT_VOCABULARY_PARALLEL, NONE, 2", "GPT_VOCABULARY_PARALLEL, NONE, 4",
        "MLP_THREE_STAGES, ONE_F_ONE_B, 2", "MLP_THREE_STAGES, ZB_H1, 3",
        "GPT_FOUR_STAGES, ONE_F_ONE_B, 2", "GPT_FOUR_STAGES, ONE_F_ONE_B, 4",
        "GPT_FOUR_STAGES, ZB_H1, 2", "GPT_FOUR_STAGES, ZB_H1, 4", "GPT_FOUR_STAGES, GPIPE, 4",
        "GPT_TWO_DATA_PARALLEL_STAGES, ONE_F_ONE_B, 2", "GPT_TWO_DATA_PARALLEL_STAGES, ZB_H1, 4",
        "GPT_FOUR_STAGES, ONE_F_ONE_B_TWO_BP, 2", "GPT_FOUR_STAGES, ONE_F_ONE_B_TWO_BP, 4",
        "GPT_FOUR_STAGES, ONE_F_ONE_B_TWO_BP_WEIGHTS_AT_END, 2", "GPT_FOUR_STAGES, ONE_F_ONE_B_TWO_BP_WEIGHTS_AT_END, 4",
        "GPT_FOUR_STAGES, ZB_H2, 2", "GPT_FOUR_STAGES, ZB_H2, 4", "MLP_THREE_STAGES, ZB_H2, 3",
        "GPT_TWO_STAGES_PER_DEVICE, INTERLEAVED_ONE_F_ONE_B, 2", "GPT_TWO_STAGES_PER_DEVICE, ZB_V, 2",
        "GPT_TWO_DATA_PARALLEL_STAGES, ZB_H2, 2", "GPT_TWO_DATA_PARALLEL_STAGES, ZB_H2, 4"})
    void shouldTrainEveryLayoutAsSeveralProcessesBitForBitLikeOnVirtualDevices(Layout layout, Schedule schedule,
            int processes) {
        boolean gpt = layout.name().startsWith("GPT");
        Map<String, Integer> stageOfOp = new LinkedHashMap<>();
        DistributedTraining distributed = layout(layout, schedule, stageOfOp);
        int devices = distributed.devices().size();
        assertEquals(switch (layout) {
            case MLP_THREE_STAGES -> 3;
            case GPT_TWO_STAGES_PER_DEVICE -> 2;
            default -> 4;
        }, devices);
        ActorExecutorOptions options = options(layout, schedule, distributed, stageOfOp);
        int gptBatch = gpt ? distributed.logical().forward().store().tensor("tokens").shape().dim(0) : 0;
        List<List<Map<String, HostTensor>>> data = batches(gpt, ITERATIONS, MICRO_BATCHES, 42, gptBatch);
        double[] rates = learningRates(ITERATIONS);
        try (ParallelExecutor virtual = new ParallelExecutor(distributed, 7, options);
                ProcessGroup group = new ProcessGroup(distributed, 7, options, processes)) {
            Tolerance.EXACT.requireClose("gradients before training", virtual.gradients(data.get(0)),
                    group.gradients(data.get(0)));
            group.requireTrainsLike(virtual, data, rates);
            assertArrayEquals(virtual.traffic().orElseThrow().sentSinceStart(), group.bytesSent(),
                    "bytes each device sent, gradients run included");
        }
    }

    /** {@code layout}'s devices and placements; {@code stageOfOp} receives each op's stage where the layout names them. */
    static DistributedTraining layout(Layout layout, Schedule schedule, Map<String, Integer> stageOfOp) {
        return switch (layout) {
            case MLP_DATA_PARALLEL -> hinted(TrainingModels.mlp(MICRO_BATCHES, adamW(), 0.5), Placement.onNode(0, 4),
                    Map.of("x", split(0), "labels", split(0)));
            case MLP_TENSOR_PARALLEL -> hinted(TrainingModels.mlp(MICRO_BATCHES, new Optimizer.Sgd(0.9, 0.01), 0.5),
                    Placement.onNode(0, 4), Map.of("fc1.weight", split(1), "fc1.bias", split(0), "fc2.weight", split(0)));
            case MLP_TWO_BY_TWO -> hinted(TrainingModels.mlp(MICRO_BATCHES, adamW(), 0.5), Placement.onNode(0, 2, 2),
                    Map.of("x", NdSbp.of(Sbp.split(0), Sbp.broadcast()), "labels", NdSbp.of(Sbp.split(0),
                            Sbp.broadcast()), "fc1.weight", NdSbp.of(Sbp.broadcast(), Sbp.split(1)),
                            "fc2.weight", NdSbp.of(Sbp.broadcast(), Sbp.split(0))));
            case MLP_SHARDED_STATE -> hinted(TrainingModels.mlp(MICRO_BATCHES, adamW(), 0.5), Placement.onNode(0, 4),
                    Map.of("x", split(0), "labels", split(0), "fc1.weight", split(0), "fc2.weight", split(0),
                            "head.weight", split(0)));
            case GPT_VOCABULARY_PARALLEL -> hinted(TrainingModels.gpt(MICRO_BATCHES, adamW(), 1.0),
                    Placement.onNode(0, 4), Map.of("token_embedding.weight", split(0)));
            case MLP_THREE_STAGES -> stages(TrainingModels.mlp(MICRO_BATCHES, adamW(), 0.5),
                    Map.of("fc2.", 1, "head.", 2));
            case GPT_FOUR_STAGES -> stages(TrainingModels.gpt(MICRO_BATCHES, adamW(), 1.0),
                    Map.of("block0.", 1, "block1.", 2, "ln_final.", 3, "head.", 3));
            case GPT_TWO_DATA_PARALLEL_STAGES -> dataParallelStages(stageOfOp);
            case GPT_TWO_STAGES_PER_DEVICE -> PipelineScheduleTrainingTest.chunks(
                    TrainingModels.gpt(MICRO_BATCHES, adamW(), 1.0), pipeline(layout, schedule),
                    Map.of("block0.", 1, "block1.", 2, "ln_final.", 3, "head.", 3), stageOfOp);
        };
    }

    /** Default options, following {@code schedule} over the layout's stages. */
    static ActorExecutorOptions options(Layout layout, Schedule schedule, DistributedTraining distributed,
                                        Map<String, Integer> stageOfOp) {
        ActorExecutorOptions options = ActorExecutorOptions.defaults();
        if (schedule.build == null) {
            return options;
        }
        int pipelineDevices = layout == Layout.GPT_TWO_DATA_PARALLEL_STAGES ? 2 : distributed.devices().size();
        return options.withSchedule(schedule.build.apply(pipelineDevices, MICRO_BATCHES), stageOfOp);
    }

    /** The schedule a layout of chunked stages is placed by (it decides which device holds which stage). */
    private static PipelineSchedule pipeline(Layout layout, Schedule schedule) {
        if (schedule.build == null) {
            throw new IllegalArgumentException(layout + " places its stages by a chunked schedule, not " + schedule);
        }
        return schedule.build.apply(2, MICRO_BATCHES);
    }

    private static NdSbp split(int axis) {
        return NdSbp.of(Sbp.split(axis));
    }

    private static DistributedTraining hinted(TrainingGraph graph, Placement placement, Map<String, NdSbp> byName) {
        Map<Tensor, NdSbp> hints = new LinkedHashMap<>();
        byName.forEach((name, sbp) -> hints.put(graph.forward().store().tensor(name), sbp));
        return DistributedTraining.plan(graph, placement, hints, CostModel.standard());
    }

    /** One device per stage (stage s on device s, so no stage map); stage 0 holds every op no prefix names. */
    private static DistributedTraining stages(TrainingGraph graph, Map<String, Integer> byPrefix) {
        Map<String, Placement> rules = new LinkedHashMap<>();
        byPrefix.forEach((prefix, stage) -> rules.put(prefix, Placement.of(List.of(new DeviceId(0, stage)), 1, 1)));
        Placement first = Placement.of(List.of(new DeviceId(0, 0)), 1, 1);
        Map<Op, Placement> byOp = new StageRules(rules).resolve(graph.ops(), first);
        return DistributedTraining.plan(graph, first, byOp, Map.of(), CostModel.standard());
    }

    /** data 2 x pipeline 2: the embeddings and block 0 on devices 0:0-0:1, the rest on 0:2-0:3. */
    private static DistributedTraining dataParallelStages(Map<String, Integer> stageOfOp) {
        TrainingGraph graph = TrainingModels.gpt(2, MICRO_BATCHES, adamW(), 1.0);
        Placement first = Placement.of(List.of(new DeviceId(0, 0), new DeviceId(0, 1)), 2);
        Placement second = Placement.of(List.of(new DeviceId(0, 2), new DeviceId(0, 3)), 2);
        Map<Op, Placement> byOp = new StageRules(Map.of("block1.", second, "ln_final.", second, "head.", second))
                .resolve(graph.ops(), first);
        graph.ops().forEach(op -> stageOfOp.put(op.name(), byOp.containsKey(op) ? 1 : 0));
        Map<Tensor, NdSbp> hints = new LinkedHashMap<>();
        for (String input : List.of("tokens", "targets")) {
            hints.put(graph.forward().store().tensor(input), split(0));
        }
        return DistributedTraining.plan(graph, first, byOp, hints, CostModel.standard());
    }
}
