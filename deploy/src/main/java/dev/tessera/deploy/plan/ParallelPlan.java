package dev.tessera.deploy.plan;

import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.deploy.InputException;
import dev.tessera.deploy.config.ParallelSettings;
import dev.tessera.graph.Op;
import dev.tessera.graph.Phase;
import dev.tessera.graph.Tensor;
import dev.tessera.lowering.DistributedTraining;
import dev.tessera.sbp.DeviceId;
import dev.tessera.sbp.NdSbp;
import dev.tessera.sbp.Placement;
import dev.tessera.sbp.Sbp;
import dev.tessera.sbp.infer.AutoParallelSearch;
import dev.tessera.sbp.infer.CostModel;
import dev.tessera.sbp.infer.GreedySbpInference;
import dev.tessera.sbp.infer.MemoryBudgetException;
import dev.tessera.sbp.infer.PlanEstimate;
import dev.tessera.sbp.infer.PlanEvaluator;
import dev.tessera.sbp.infer.SbpAssignment;
import dev.tessera.sbp.infer.StageBalancer;
import dev.tessera.sbp.infer.StageRules;
import dev.tessera.lowering.PhysicalLowering;
import dev.tessera.plan.compile.PlanCompiler;
import dev.tessera.plan.compile.PlanOptions;
import dev.tessera.plan.compile.PlanTraffic;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The layout of one training iteration over the devices of a run config: the training graph,
 * the hints it was planned with, and the SBP assignment. By default the hints are the batch
 * split over the data axis and the user's, and greedy SBP inference lays out the rest; with
 * {@code parallel.auto} the auto-parallel search chooses every parameter's and data input's
 * layout the user left free. {@code tessera plan} prints it as text, JSON or Graphviz.
 *
 * @param ops every op of one iteration in order: forward, backward, update
 * @param tensors every tensor an op reads or writes, in creation order
 * @param hints the layouts fixed before planning: the user's, the training scalars' and (without
 *     auto) the batch split; the auto search's own choices are only in the assignment
 * @param estimate iteration time and peak memory per device by the planner's cost model
 * @param search how the auto mode found the layout; null without {@code parallel.auto}
 * @param stages the placement of every pipeline stage, stage 0 first (one entry without
 *     {@code parallel.pipeline}); placement ids {@code p0, p1, ...} are indices into it
 * @param stageCosts per schedule stage, the modeled F, B and W time per micro-batch, sends and
 *     memory; empty without {@code parallel.pipeline}
 * @param stageOfOp the schedule stage (0..{@code settings.scheduleStages()} - 1) of every op by
 *     name, the stages a schedule's lists are read by; empty without {@code parallel.pipeline}
 */
public record ParallelPlan(String model, String description, ParallelSettings settings, TrainingGraph graph,
        List<Op> ops, List<Tensor> tensors, Map<Tensor, NdSbp> hints, SbpAssignment assignment, PlanEstimate estimate,
        AutoSearch search, List<Placement> stages, List<StageBalancer.StageCost> stageCosts,
        Map<String, Integer> stageOfOp) {

    public ParallelPlan {
        stages = List.copyOf(stages);
        stageCosts = List.copyOf(stageCosts);
        stageOfOp = Map.copyOf(stageOfOp);
    }

    /** Whether the cost model cut the stages (no {@code parallel.stages} given). */
    public boolean stagesBalanced() {
        return stages.size() > 1 && settings.stages().isEmpty();
    }

    /** The auto mode's search: distinct plans it evaluated, in how long, within which budget. */
    public record AutoSearch(int plans, double seconds, long memoryBudgetBytes) {
    }

    /**
     * Per device of the run ({@link SbpAssignment#devices()}), the bytes it sends to other
     * devices per iteration under the execution plan the runtime runs for this layout: the
     * collectives' messages and the tensors transfers move ({@link PlanTraffic}). What
     * {@code tessera train} counts and reports beside it.
     */
    public long[] sentBytesPerIteration() {
        DistributedTraining distributed = PhysicalLowering.lower(graph, assignment);
        return PlanTraffic.bytesPerIteration(PlanCompiler.compile(distributed,
                PlanOptions.of(1, 1)));
    }

    /** Names of the hierarchy axes, in order. */
    public static final List<String> AXIS_NAMES = List.of("data", "tensor");

    /**
     * Plans {@code graph} for {@code settings}.
     *
     * @param batchSize examples per micro-batch: inputs whose first axis has this size are split over the data axis
     * @throws InputException when a hint names a tensor the graph lacks or does not fit its tensor,
     *     the batch is smaller than the data-parallel degree, or (auto) no layout fits the memory budget
     * @throws IllegalArgumentException from inference, naming the op and tensor, when no layout fits
     */
    public static ParallelPlan of(String model, String description, TrainingGraph graph, int batchSize,
            ParallelSettings settings) {
        Placement placement = settings.placement();
        List<Op> ops = graph.ops();
        Set<Tensor> seen = new LinkedHashSet<>();
        for (Op op : ops) {
            seen.addAll(op.inputs());
            seen.addAll(op.outputs());
        }
        List<Tensor> tensors = new ArrayList<>(seen);
        tensors.sort(Comparator.comparingInt(Tensor::id));

        Map<Tensor, NdSbp> hints = new HashMap<>(settings.auto() ? Map.of() : batchHints(graph, batchSize, settings));
        for (Map.Entry<String, NdSbp> hint : settings.hints().entrySet()) {
            Tensor tensor = find(graph, hint.getKey(), seen);
            try {
                hint.getValue().requireFits(tensor.name(), tensor.type(), placement);
            } catch (IllegalArgumentException e) {
                throw new InputException("parallel.hints: " + e.getMessage());
            }
            hints.put(tensor, hint.getValue());
        }
        try {
            hints = new HashMap<>(DistributedTraining.trainingHints(graph, placement, hints));
        } catch (IllegalArgumentException e) {
            throw new InputException("parallel.hints: " + e.getMessage());
        }
        SbpAssignment assignment = null;
        AutoSearch search = null;
        if (settings.auto()) {
            long start = System.nanoTime();
            AutoParallelSearch.Result found;
            try {
                found = AutoParallelSearch.search(graph, placement, hints, settings.memoryBudgetBytes(), CostModel.standard());
            } catch (MemoryBudgetException e) {
                throw new InputException("parallel.memory_budget: " + e.getMessage());
            }
            search = new AutoSearch(found.evaluations(), (System.nanoTime() - start) / 1e9, settings.memoryBudgetBytes());
            assignment = found.assignment();
        }
        List<Placement> stages = new ArrayList<>();
        for (int stage = 0; stage < settings.pipeline(); stage++) {
            stages.add(settings.stagePlacement(stage));
        }
        List<StageBalancer.StageCost> stageCosts = List.of();
        Map<String, Integer> stageOfOp = new LinkedHashMap<>();
        if (!settings.auto()) {
            Map<Op, Placement> opStages = Map.of();
            if (settings.pipeline() > 1) {
                List<Placement> markers = new ArrayList<>();
                for (int stage = 0; stage < settings.scheduleStages(); stage++) {
                    markers.add(stageMarker(stage));
                }
                Map<Op, Placement> byMarker = stagesOf(graph, markers, settings);
                Map<Op, Placement> onDevices = new HashMap<>();
                for (Op op : ops) {
                    int stage = Math.max(0, markers.indexOf(byMarker.getOrDefault(op, markers.get(0))));
                    stageOfOp.put(op.name(), stage);
                    Placement devices = settings.stagePlacement(settings.positionOfStage(stage));
                    if (!devices.equals(placement)) {
                        onDevices.put(op, devices);
                    }
                }
                opStages = onDevices;
                stageCosts = StageBalancer.costs(graph, markers, byMarker, CostModel.standard());
            }
            assignment = GreedySbpInference.infer(ops, placement, opStages, hints, graph.options().microBatches(),
                    CostModel.standard());
        }
        PlanEstimate estimate = PlanEvaluator.evaluate(graph, assignment, CostModel.standard());
        return new ParallelPlan(model, description, settings, graph, ops, List.copyOf(tensors), Map.copyOf(hints),
                assignment, estimate, search, stages, stageCosts, stageOfOp);
    }

    /** A placement standing for schedule stage {@code stage} while stages are cut or resolved (never lowered). */
    private static Placement stageMarker(int stage) {
        return Placement.of(List.of(new DeviceId(Integer.MAX_VALUE, stage)), 1, 1);
    }

    /**
     * The schedule stage of every op off stage 0, as one of {@code stages} (a marker per schedule
     * stage): by {@code parallel.stages}, or, without it, the cost model's balanced cut
     * ({@link StageBalancer}).
     *
     * @throws InputException naming the stage and its prefixes when a stage after 0 gets no op, or
     *     when the model has fewer forward ops than stages
     */
    private static Map<Op, Placement> stagesOf(TrainingGraph graph, List<Placement> stages,
            ParallelSettings settings) {
        List<Op> ops = graph.ops();
        if (settings.stages().isEmpty()) {
            try {
                return StageBalancer.balance(graph, stages, CostModel.standard()).placements();
            } catch (IllegalArgumentException e) {
                throw new InputException("parallel.pipeline: " + e.getMessage());
            }
        }
        Map<String, Placement> byPrefix = new LinkedHashMap<>();
        settings.stages().forEach((prefix, stage) -> byPrefix.put(prefix, stages.get(stage)));
        Map<Op, Placement> opStages = new StageRules(byPrefix).resolve(ops, stages.get(0));
        Set<Placement> used = new HashSet<>(opStages.values());
        for (int stage = 1; stage < stages.size(); stage++) {
            if (!used.contains(stages.get(stage))) {
                int s = stage;
                List<String> prefixes = settings.stages().entrySet().stream().filter(e -> e.getValue() == s)
                        .map(e -> "\"" + e.getKey() + "\"").toList();
                throw new InputException("parallel.stages: no op runs on stage " + stage + (prefixes.isEmpty()
                        ? ": no prefix names it" : ": no op name starts with " + String.join(" or ", prefixes))
                        + "; give stage " + stage + " the name prefix of some ops ('tessera plan' lists them) or lower parallel.pipeline");
            }
        }
        return opStages;
    }

    /** The id of a stage placement, {@code p0} for stage 0, as the plan's text and JSON show it. */
    public String placementId(Placement placement) {
        int index = stages.indexOf(placement);
        if (index < 0) {
            throw new IllegalArgumentException("placement " + placement + " is not a stage of this plan: " + stages);
        }
        return "p" + index;
    }

    /** S(0) on the data axis (B when it has one device) and B on the tensor axis, for every batch input. */
    private static Map<Tensor, NdSbp> batchHints(TrainingGraph graph, int batchSize, ParallelSettings settings) {
        if (settings.data() > batchSize) {
            throw new InputException("train.batch_size " + batchSize + " is smaller than parallel.data " + settings.data()
                    + ": every data-parallel rank needs at least one example; raise train.batch_size or lower parallel.data");
        }
        NdSbp batchLayout = NdSbp.of(settings.data() > 1 ? Sbp.split(0) : Sbp.broadcast(), Sbp.broadcast());
        Map<Tensor, NdSbp> hints = new HashMap<>();
        for (Tensor input : graph.forward().inputs()) {
            if (input.shape().rank() >= 1 && input.shape().dim(0) == batchSize) {
                hints.put(input, batchLayout);
            }
        }
        return hints;
    }

    private static Tensor find(TrainingGraph graph, String name, Set<Tensor> used) {
        for (Tensor t : used) {
            if (t.name().equals(name)) {
                return t;
            }
        }
        List<String> parameters = graph.parameters().stream().map(Tensor::name).toList();
        String shown = String.join(", ", parameters.subList(0, Math.min(12, parameters.size())))
                + (parameters.size() > 12 ? ", ... (" + parameters.size() + " in all)" : "");
        throw new InputException("parallel.hints: the training graph has no tensor named '" + name
                + "'; hints usually name parameters, which are: " + shown + " ('tessera plan' lists every tensor)");
    }

    /** Stage 0's placement: with one stage, every op's. */
    public Placement placement() {
        return assignment.placement();
    }

    /** Every device of the run, in node and device order (all stages'). */
    public List<DeviceId> devices() {
        return assignment.devices();
    }

    /** How often an op runs per iteration: update ops once, all others once per micro-batch. */
    public int runsPerIteration(Op op) {
        return op.phase() == Phase.UPDATE ? 1 : graph.options().microBatches();
    }

    /** The bytes one conversion sends per iteration over all devices. */
    public double bytesPerIteration(SbpAssignment.InsertedBoxing boxing) {
        return boxing.sentBytes() * runsPerIteration(boxing.op());
    }
}
