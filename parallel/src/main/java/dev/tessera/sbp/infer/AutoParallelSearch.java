package dev.tessera.sbp.infer;

import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.graph.Op;
import dev.tessera.graph.Tensor;
import dev.tessera.lowering.DistributedTraining;
import dev.tessera.sbp.NdSbp;
import dev.tessera.sbp.Placement;
import dev.tessera.sbp.Sbp;
import dev.tessera.sbp.Sharding;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The {@code auto} mode: a whole-graph search over the layouts of a training graph's decision
 * variables (every parameter and data input the user left free), each a B or S(i) per hierarchy
 * axis. Every other layout follows from {@link GreedySbpInference} given those, and
 * {@link PlanEvaluator} scores the result: the fastest iteration among the plans that fit the
 * memory budget; plans over it rank by how far over they are, so the search walks toward
 * feasibility first. Greedy inference alone never revisits a choice; fixing the parameters
 * and re-inferring the rest lets a choice made late (an optimizer state split) pay off early.
 *
 * <p>Search: a few seeds (data parallel over each axis, data parallel over all axes, everything
 * replicated), then from each, sweeps that try every candidate of every variable and keep the
 * best improvement, plus group moves that a single-variable move cannot reach in one step: a
 * column-parallel layer followed by a row-parallel one (Megatron), which alone would each only add
 * communication. Stops when a sweep improves nothing or after a bounded number of distinct plans.
 * Deterministic: variables, candidates and seeds are tried in graph order.
 */
public final class AutoParallelSearch {
    /** Distinct plans evaluated at most, so a large graph plans in bounded time. */
    public static final int DEFAULT_MAX_EVALUATIONS = 400;

    /**
     * @param hints every layout the search fixed or was given (user hints, training scalars)
     * @param evaluations distinct plans evaluated
     */
    public record Result(Map<Tensor, NdSbp> hints, SbpAssignment assignment, PlanEstimate estimate, int evaluations) {
    }

    private record Scored(List<NdSbp> values, SbpAssignment assignment, PlanEstimate estimate, double excess,
            double seconds) {
        boolean betterThan(Scored other) {
            if (other == null) {
                return true;
            }
            if (excess != other.excess) {
                return excess < other.excess;
            }
            // a relative margin so rounding noise never counts as an improvement
            return seconds < other.seconds * (1 - 1e-9);
        }
    }

    /** Variables (by index) given one SBP together on one hierarchy axis, the other axes kept. */
    record AxisMove(int axis, Map<Integer, Sbp> changes) {
    }

    /** An accumulator's value when it is left to follow its gradient (no hint). */
    private static final NdSbp FOLLOW = null;

    private final TrainingGraph graph;
    private final Placement placement;
    private final Map<Tensor, NdSbp> fixed;
    private final long budget;
    private final CostModel model;
    private final int maxEvaluations;
    private final List<Tensor> variables = new ArrayList<>();
    private final List<List<NdSbp>> candidates = new ArrayList<>();
    private final Map<List<NdSbp>, Scored> memo = new HashMap<>();
    /** Variable index of each parameter's accumulator, by the parameter's index. */
    private final Map<Integer, Integer> accumulatorOf = new LinkedHashMap<>();
    private long smallestMemory = Long.MAX_VALUE;

    private AutoParallelSearch(TrainingGraph graph, Placement placement, Map<Tensor, NdSbp> fixed, long budget,
            CostModel model, int maxEvaluations) {
        this.graph = graph;
        this.placement = placement;
        this.fixed = fixed;
        this.budget = budget;
        this.model = model;
        this.maxEvaluations = maxEvaluations;
    }

    public static Result search(TrainingGraph graph, Placement placement, Map<Tensor, NdSbp> hints,
            long memoryBudgetBytes, CostModel model) {
        return search(graph, placement, hints, memoryBudgetBytes, model, DEFAULT_MAX_EVALUATIONS);
    }

    /**
     * @param hints layouts the user fixed; the loss, gradient norm and schedule scalars are added as B
     * @throws MemoryBudgetException (an IllegalArgumentException) when no plan found fits
     *     {@code memoryBudgetBytes}, naming the budget and the smallest peak memory found
     * @throws IllegalArgumentException when a hint does not fit its tensor
     */
    public static Result search(TrainingGraph graph, Placement placement, Map<Tensor, NdSbp> hints,
            long memoryBudgetBytes, CostModel model, int maxEvaluations) {
        if (memoryBudgetBytes <= 0 || maxEvaluations < 1) {
            throw new IllegalArgumentException("the memory budget must be positive and at least one plan evaluated, got "
                    + memoryBudgetBytes + " bytes and " + maxEvaluations + " evaluations");
        }
        Map<Tensor, NdSbp> fixed = DistributedTraining.trainingHints(graph, placement, hints);
        fixed.forEach((tensor, sbp) -> sbp.requireFits(tensor.name(), tensor.type(), placement));
        AutoParallelSearch search = new AutoParallelSearch(graph, placement, fixed, memoryBudgetBytes, model,
                maxEvaluations);
        return search.run();
    }

    private Result run() {
        collectVariables();
        Scored best = null;
        for (List<NdSbp> seed : seeds()) {
            Scored start = evaluate(seed);
            if (start == null) {
                continue;
            }
            Scored found = localSearch(start);
            if (found.betterThan(best)) {
                best = found;
            }
        }
        if (best == null) {
            throw new IllegalArgumentException("auto-parallel found no valid layout of the training graph on " + placement
                    + ": greedy inference rejected every seed plan; check the hints");
        }
        if (best.excess > 0) {
            throw new MemoryBudgetException("no layout found fits the memory budget of " + PlanEstimate.bytes(budget)
                    + " (" + budget + " bytes) per device on " + placement + ": the smallest peak memory found is "
                    + PlanEstimate.bytes(smallestMemory) + " (" + smallestMemory + " bytes); raise the budget "
                    + "(parallel.memory_budget in a run config), use more devices, or shrink the batch or the model", budget, smallestMemory);
        }
        return new Result(hintsOf(best.values), best.assignment, best.estimate, memo.size());
    }

    private void collectVariables() {
        Set<Tensor> read = new HashSet<>();
        for (Op op : graph.ops()) {
            read.addAll(op.inputs());
        }
        for (Tensor input : graph.forward().inputs()) {
            if (input.shape().rank() >= 1 && read.contains(input) && !fixed.containsKey(input)) {
                variables.add(input);
                candidates.add(layoutsFitting(input));
            }
        }
        List<Tensor> parameters = new ArrayList<>();
        for (Tensor parameter : graph.parameters()) {
            if (read.contains(parameter) && !fixed.containsKey(parameter)) {
                parameters.add(parameter);
                variables.add(parameter);
                candidates.add(layoutsFitting(parameter));
            }
        }
        // A gradient accumulator is stored as its gradient arrives unless hinted (FOLLOW, null):
        // hinting it split turns a data-parallel all-reduce into a reduce-scatter (ZeRO).
        for (Tensor parameter : parameters) {
            Tensor accumulator = graph.accumulator(parameter);
            if (accumulator != null && read.contains(accumulator) && !fixed.containsKey(accumulator)) {
                accumulatorOf.put(variables.indexOf(parameter), variables.size());
                variables.add(accumulator);
                List<NdSbp> choices = new ArrayList<>();
                choices.add(FOLLOW);
                choices.addAll(layoutsFitting(accumulator));
                candidates.add(choices);
            }
        }
    }

    /** Every NdSbp of B and S(i) per hierarchy axis that leaves no device an empty part; B first. */
    private List<NdSbp> layoutsFitting(Tensor t) {
        List<List<Sbp>> prefixes = List.of(List.of());
        for (int axis = 0; axis < placement.axes(); axis++) {
            List<Sbp> choices = new ArrayList<>();
            choices.add(Sbp.broadcast());
            if (placement.axisSize(axis) > 1) {
                for (int dim = 0; dim < t.shape().rank(); dim++) {
                    choices.add(Sbp.split(dim));
                }
            }
            List<List<Sbp>> next = new ArrayList<>();
            for (List<Sbp> prefix : prefixes) {
                for (Sbp choice : choices) {
                    List<Sbp> extended = new ArrayList<>(prefix);
                    extended.add(choice);
                    next.add(extended);
                }
            }
            prefixes = next;
        }
        int last = placement.size() - 1;
        List<NdSbp> fitting = new ArrayList<>();
        for (List<Sbp> axes : prefixes) {
            NdSbp sbp = new NdSbp(axes);
            if (t.shape().size() == 0 || Sharding.region(t.shape(), placement, sbp, last).elements() > 0) {
                fitting.add(sbp);
            }
        }
        return fitting;
    }

    /** Data parallel over each axis in turn, over all axes together, then everything replicated. */
    private List<List<NdSbp>> seeds() {
        NdSbp replicated = NdSbp.uniform(placement.axes(), Sbp.broadcast());
        List<List<NdSbp>> seeds = new ArrayList<>();
        List<Integer> splittable = new ArrayList<>();
        for (int axis = 0; axis < placement.axes(); axis++) {
            if (placement.axisSize(axis) > 1) {
                splittable.add(axis);
            }
        }
        List<List<Integer>> batchAxes = new ArrayList<>();
        for (int axis : splittable) {
            batchAxes.add(List.of(axis));
        }
        if (splittable.size() > 1) {
            batchAxes.add(splittable);
        }
        for (List<Integer> axes : batchAxes) {
            List<NdSbp> seed = new ArrayList<>();
            for (int v = 0; v < variables.size(); v++) {
                NdSbp layout = accumulatorOf.containsValue(v) ? FOLLOW : replicated;
                if (variables.get(v).kind() == dev.tessera.graph.TensorKind.INPUT) {
                    for (int axis : axes) {
                        layout = layout.with(axis, Sbp.split(0));
                    }
                    layout = candidates.get(v).contains(layout) ? layout : replicated;
                }
                seed.add(layout);
            }
            seeds.add(seed);
        }
        List<NdSbp> allReplicated = new ArrayList<>();
        for (int v = 0; v < variables.size(); v++) {
            allReplicated.add(accumulatorOf.containsValue(v) ? FOLLOW : replicated);
        }
        seeds.add(allReplicated);
        return seeds;
    }

    private Scored localSearch(Scored start) {
        Scored current = start;
        List<AxisMove> groupMoves = MegatronGroups.moves(graph, placement, variables);
        boolean improved = true;
        while (improved && memo.size() < maxEvaluations) {
            improved = false;
            for (int v = 0; v < variables.size() && memo.size() < maxEvaluations; v++) {
                Scored bestHere = current;
                for (NdSbp candidate : candidates.get(v)) {
                    if (java.util.Objects.equals(candidate, current.values.get(v))) {
                        continue;
                    }
                    Scored tried = evaluate(with(current.values, v, candidate));
                    if (tried != null && tried.betterThan(bestHere)) {
                        bestHere = tried;
                    }
                }
                if (bestHere != current) {
                    current = bestHere;
                    improved = true;
                }
            }
            for (AxisMove move : groupMoves) {
                if (memo.size() >= maxEvaluations) {
                    break;
                }
                Map<Integer, NdSbp> changes = apply(current.values, move);
                if (changes == null) {
                    continue;
                }
                Scored tried = evaluate(with(current.values, changes));
                if (tried != null && tried.betterThan(current)) {
                    current = tried;
                    improved = true;
                }
            }
            for (Map<Integer, NdSbp> changes : shardingMoves(current.values)) {
                if (memo.size() >= maxEvaluations) {
                    break;
                }
                Scored tried = evaluate(with(current.values, changes));
                if (tried != null && tried.betterThan(current)) {
                    current = tried;
                    improved = true;
                }
            }
        }
        return current;
    }

    /**
     * ZeRO-style moves: a parameter split by rows over one more axis together with its gradient
     * accumulator (its optimizer state follows it), so the gradient is reduce-scattered into the
     * shard and the weight all-gathered where it is read, in one step rather than two.
     */
    private List<Map<Integer, NdSbp>> shardingMoves(List<NdSbp> values) {
        List<Map<Integer, NdSbp>> moves = new ArrayList<>();
        for (Map.Entry<Integer, Integer> pair : accumulatorOf.entrySet()) {
            for (int axis = 0; axis < placement.axes(); axis++) {
                NdSbp parameter = values.get(pair.getKey()).with(axis, Sbp.split(0));
                if (placement.axisSize(axis) > 1 && candidates.get(pair.getKey()).contains(parameter)
                        && candidates.get(pair.getValue()).contains(parameter)) {
                    moves.add(Map.of(pair.getKey(), parameter, pair.getValue(), parameter));
                }
            }
        }
        return moves;
    }

    /** {@code values} with variable {@code v} changed (to FOLLOW, too, which a Map.of cannot hold). */
    private static List<NdSbp> with(List<NdSbp> values, int v, NdSbp value) {
        List<NdSbp> changed = new ArrayList<>(values);
        changed.set(v, value);
        return java.util.Collections.unmodifiableList(changed);
    }

    private static List<NdSbp> with(List<NdSbp> values, Map<Integer, NdSbp> changes) {
        List<NdSbp> changed = new ArrayList<>(values);
        changes.forEach(changed::set);
        return java.util.Collections.unmodifiableList(changed);
    }

    /** The plan with these variable layouts, or null when inference rejects it; remembered. */
    private Scored evaluate(List<NdSbp> values) {
        if (memo.containsKey(values)) {
            return memo.get(values);
        }
        Scored scored = null;
        try {
            SbpAssignment assignment = GreedySbpInference.infer(graph.ops(), placement, hintsOf(values), model);
            PlanEstimate estimate = PlanEvaluator.evaluate(graph, assignment, model);
            long peak = estimate.peakMemoryBytes();
            smallestMemory = Math.min(smallestMemory, peak);
            scored = new Scored(values, assignment, estimate, Math.max(0, peak - budget),
                    estimate.iterationSeconds());
        } catch (IllegalArgumentException rejected) {
            // no signature fits these layouts somewhere in the graph: not a plan
        }
        memo.put(values, scored);
        return scored;
    }

    private Map<Tensor, NdSbp> hintsOf(List<NdSbp> values) {
        Map<Tensor, NdSbp> hints = new LinkedHashMap<>(fixed);
        for (int v = 0; v < variables.size(); v++) {
            if (values.get(v) != FOLLOW) {
                hints.put(variables.get(v), values.get(v));
            }
        }
        return hints;
    }

    /** The move's layouts from the current ones, or null when one leaves a device an empty part. */
    private Map<Integer, NdSbp> apply(List<NdSbp> values, AxisMove move) {
        Map<Integer, NdSbp> changes = new HashMap<>();
        for (Map.Entry<Integer, Sbp> change : move.changes().entrySet()) {
            NdSbp current = values.get(change.getKey());
            if (current == FOLLOW) {
                return null;
            }
            NdSbp layout = current.with(move.axis(), change.getValue());
            if (!candidates.get(change.getKey()).contains(layout)) {
                return null;
            }
            changes.put(change.getKey(), layout);
        }
        return changes;
    }
}
