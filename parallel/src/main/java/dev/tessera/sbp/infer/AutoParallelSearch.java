package dev.tessera.sbp.infer;

import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.graph.Tensor;
import dev.tessera.lowering.DistributedTraining;
import dev.tessera.sbp.NdSbp;
import dev.tessera.sbp.Placement;
import dev.tessera.sbp.Sbp;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code auto} mode: a whole-graph search over the layouts of a training graph's decision
 * variables (every data input, parameter and gradient accumulator the user left free), each a B
 * or S(i) per hierarchy axis. Every other layout follows from {@link GreedySbpInference} given
 * those, and {@link PlanEvaluator} scores the result: the fastest iteration among the plans that
 * fit the memory budget; plans over it rank by how far over they are, so the search walks toward
 * feasibility first. Greedy inference alone never revisits a choice; fixing the stored tensors
 * and re-inferring the rest lets a choice made late (an optimizer state split) pay off early.
 *
 * <p>Search: seeds (data parallel over each axis, over all axes, everything replicated), then
 * from each, sweeps that try every candidate of one unit at a time and keep the best, plus moves
 * a single change cannot reach in one step: column-parallel then row-parallel layers (Megatron,
 * {@link MegatronGroups}), each half of which alone only adds communication, and a parameter
 * sharded together with its accumulator (ZeRO). Units are first roles (the same parameter in
 * every repeated block, so a deep model costs about what one block does), then single variables.
 * Stops when a round improves nothing or after a bounded number of distinct plans.
 * Deterministic: units, candidates and moves are tried in graph order, and the plans of one step
 * are inferred in parallel but compared in order.
 */
public final class AutoParallelSearch {
    /** Distinct plans evaluated at most, so a large graph plans in bounded time. */
    public static final int DEFAULT_MAX_EVALUATIONS = 250;

    /**
     * @param hints every layout the search fixed or was given (user hints, training scalars)
     * @param evaluations distinct plans evaluated
     */
    public record Result(Map<Tensor, NdSbp> hints, SbpAssignment assignment, PlanEstimate estimate, int evaluations) {
    }

    private record Scored(List<NdSbp> values, PlanEstimate estimate, double excess, double seconds) {
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

    private final TrainingGraph graph;
    private final Placement placement;
    private final Map<Tensor, NdSbp> fixed;
    private final long budget;
    private final CostModel model;
    private final int maxEvaluations;
    private final SearchSpace space;
    private final List<Tensor> variables;
    private final List<List<NdSbp>> candidates;
    private final List<AxisMove> groupMoves;
    private final Map<List<NdSbp>, Scored> memo = new HashMap<>();
    private long smallestMemory = Long.MAX_VALUE;

    private AutoParallelSearch(TrainingGraph graph, Placement placement, Map<Tensor, NdSbp> fixed, long budget,
            CostModel model, int maxEvaluations) {
        this.graph = graph;
        this.placement = placement;
        this.fixed = fixed;
        this.budget = budget;
        this.model = model;
        this.maxEvaluations = maxEvaluations;
        this.space = new SearchSpace(graph, placement, fixed);
        this.variables = space.variables();
        this.candidates = space.candidates();
        this.groupMoves = MegatronGroups.moves(graph, placement, variables);
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
        Scored best = null;
        for (Scored start : evaluateAll(space.seeds())) {
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
                    + "(parallel.memory_budget in a run config), use more devices, or shrink the batch or the model",
                    budget, smallestMemory);
        }
        return new Result(hintsOf(best.values), infer(best.values), best.estimate, memo.size());
    }

    /**
     * Sweeps first over roles (a parameter of a repeated block moves with the same parameter of
     * every other block: a deep model costs as much to search as one block), then, while the
     * evaluation budget lasts, over single variables.
     */
    private Scored localSearch(Scored start) {
        Scored tied = localSearch(start, space.roles(), true);
        return localSearch(tied, space.singles(), false);
    }

    private Scored localSearch(Scored start, List<List<Integer>> units, boolean tiedMoves) {
        Scored current = start;
        boolean improved = true;
        while (improved && memo.size() < maxEvaluations) {
            improved = false;
            for (List<Integer> unit : units) {
                if (memo.size() >= maxEvaluations) {
                    break;
                }
                List<List<NdSbp>> tries = new ArrayList<>();
                for (NdSbp candidate : candidates.get(unit.get(0))) {
                    if (!java.util.Objects.equals(candidate, current.values.get(unit.get(0)))) {
                        Map<Integer, NdSbp> changes = new HashMap<>();
                        unit.forEach(v -> changes.put(v, candidate));
                        tries.add(with(current.values, changes));
                    }
                }
                Scored bestHere = best(evaluateAll(tries), current);
                if (bestHere != current) {
                    current = bestHere;
                    improved = true;
                }
            }
            List<Map<Integer, NdSbp>> moves = new ArrayList<>();
            for (AxisMove move : groupMoves) {
                Map<Integer, NdSbp> changes = apply(current.values, move);
                if (changes != null) {
                    moves.add(changes);
                }
            }
            moves.addAll(shardingMoves(current.values));
            List<List<NdSbp>> tries = new ArrayList<>();
            for (Map<Integer, NdSbp> move : moves) {
                tries.add(with(current.values, tiedMoves ? tie(move) : move));
            }
            Scored bestMove = best(evaluateAll(tries), current);
            if (bestMove != current) {
                current = bestMove;
                improved = true;
            }
        }
        return current;
    }

    /** The first best of {@code scores} if it beats {@code current}, else {@code current}. */
    private static Scored best(List<Scored> scores, Scored current) {
        Scored best = current;
        for (Scored scored : scores) {
            if (scored != null && scored.betterThan(best)) {
                best = scored;
            }
        }
        return best;
    }

    /** The move applied to every variable that shares a role with one it changes. */
    private Map<Integer, NdSbp> tie(Map<Integer, NdSbp> move) {
        Map<Integer, NdSbp> tied = new HashMap<>();
        move.forEach((v, layout) -> space.roleMates(v).forEach(mate -> tied.put(mate, layout)));
        return tied;
    }

    /** The move's layouts from the current ones, or null when one leaves a device an empty part. */
    private Map<Integer, NdSbp> apply(List<NdSbp> values, AxisMove move) {
        Map<Integer, NdSbp> changes = new HashMap<>();
        for (Map.Entry<Integer, Sbp> change : move.changes().entrySet()) {
            NdSbp current = values.get(change.getKey());
            if (current == SearchSpace.FOLLOW) {
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

    /**
     * ZeRO-style moves: a parameter split by rows over one more axis together with its gradient
     * accumulator (its optimizer state follows it), so the gradient is reduce-scattered into the
     * shard and the weight all-gathered where it is read, in one step rather than two.
     */
    private List<Map<Integer, NdSbp>> shardingMoves(List<NdSbp> values) {
        List<Map<Integer, NdSbp>> moves = new ArrayList<>();
        for (Map.Entry<Integer, Integer> pair : space.accumulatorOf().entrySet()) {
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

    private static List<NdSbp> with(List<NdSbp> values, Map<Integer, NdSbp> changes) {
        List<NdSbp> changed = new ArrayList<>(values);
        changes.forEach(changed::set);
        return java.util.Collections.unmodifiableList(changed);
    }

    /**
     * The scores of these plans, null for one inference rejects (or one left out because the
     * evaluation budget ran out). Plans not seen before are inferred in parallel, each on its
     * own, and remembered in order, so the result does not depend on the thread count.
     */
    private List<Scored> evaluateAll(List<List<NdSbp>> plans) {
        List<List<NdSbp>> fresh = plans.stream().filter(p -> !memo.containsKey(p)).distinct()
                .limit(Math.max(0, maxEvaluations - memo.size())).toList();
        List<Scored> scores = fresh.parallelStream().map(this::score).toList();
        for (int i = 0; i < fresh.size(); i++) {
            Scored scored = scores.get(i);
            memo.put(fresh.get(i), scored);
            if (scored != null) {
                smallestMemory = Math.min(smallestMemory, scored.estimate().peakMemoryBytes());
            }
        }
        List<Scored> result = new ArrayList<>(plans.size());
        plans.forEach(p -> result.add(memo.get(p)));
        return result;
    }

    /** The plan with these variable layouts, or null when inference rejects it. */
    private Scored score(List<NdSbp> values) {
        try {
            PlanEstimate estimate = PlanEvaluator.evaluate(graph, infer(values), model);
            return new Scored(values, estimate, Math.max(0, estimate.peakMemoryBytes() - budget),
                    estimate.iterationSeconds());
        } catch (IllegalArgumentException rejected) {
            // no signature fits these layouts somewhere in the graph: not a plan
            return null;
        }
    }

    private SbpAssignment infer(List<NdSbp> values) {
        return GreedySbpInference.infer(graph.ops(), placement, Map.of(), hintsOf(values),
                graph.options().microBatches(), model);
    }

    private Map<Tensor, NdSbp> hintsOf(List<NdSbp> values) {
        Map<Tensor, NdSbp> hints = new LinkedHashMap<>(fixed);
        for (int v = 0; v < variables.size(); v++) {
            if (values.get(v) != SearchSpace.FOLLOW) {
                hints.put(variables.get(v), values.get(v));
            }
        }
        return hints;
    }
}
