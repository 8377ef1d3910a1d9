package dev.tessera.sbp.infer;

import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.graph.Op;
import dev.tessera.graph.Tensor;
import dev.tessera.graph.TensorKind;
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
 * What {@link AutoParallelSearch} chooses: its variables (the data inputs, parameters and
 * gradient accumulators no hint fixed), each one's candidate layouts, the seeds it starts from,
 * and the roles that tie the same parameter of repeated blocks together.
 */
final class SearchSpace {
    /** An accumulator's value when it is left to follow its gradient (no hint). */
    static final NdSbp FOLLOW = null;

    private final Placement placement;
    private final List<Tensor> variables = new ArrayList<>();
    private final List<List<NdSbp>> candidates = new ArrayList<>();
    /** Variable index of each parameter's accumulator, by the parameter's index. */
    private final Map<Integer, Integer> accumulatorOf = new LinkedHashMap<>();
    /** For each variable, every variable of its role (itself included). */
    private final List<List<Integer>> roleMates = new ArrayList<>();

    SearchSpace(TrainingGraph graph, Placement placement, Map<Tensor, NdSbp> fixed) {
        this.placement = placement;
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
        Map<String, List<Integer>> byRole = new HashMap<>();
        for (int v = 0; v < variables.size(); v++) {
            byRole.computeIfAbsent(role(variables.get(v)), k -> new ArrayList<>()).add(v);
        }
        for (int v = 0; v < variables.size(); v++) {
            roleMates.add(byRole.get(role(variables.get(v))));
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
    List<List<NdSbp>> seeds() {
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
                if (variables.get(v).kind() == TensorKind.INPUT) {
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

    /** Every data input and parameter alone; accumulators only move with their parameter (ZeRO moves). */
    List<List<Integer>> singles() {
        List<List<Integer>> units = new ArrayList<>();
        for (int v = 0; v < variables.size(); v++) {
            if (!accumulatorOf.containsValue(v)) {
                units.add(List.of(v));
            }
        }
        return units;
    }

    /** The single units grouped by role, in order of each role's first variable. */
    List<List<Integer>> roles() {
        Map<String, List<Integer>> byRole = new LinkedHashMap<>();
        for (List<Integer> single : singles()) {
            Tensor t = variables.get(single.get(0));
            byRole.computeIfAbsent(role(t), k -> new ArrayList<>()).add(single.get(0));
        }
        return new ArrayList<>(byRole.values());
    }

    /**
     * A parameter's name with the number of its block replaced, and its type: a name of three or
     * more segments whose first ends in a number ({@code block3.attention.q.weight}) is a
     * repeated block's. Accumulators take their parameter's role.
     */
    private static String role(Tensor t) {
        String[] segments = t.name().split("\\.");
        String name = t.name();
        if (segments.length >= 3 && segments[0].matches(".*[^0-9][0-9]+")) {
            name = segments[0].replaceAll("[0-9]+$", "#") + name.substring(segments[0].length());
        }
        return name + " " + t.type();
    }

    List<Tensor> variables() {
        return variables;
    }

    /** Candidate layouts by variable, B first; an accumulator's first is FOLLOW. */
    List<List<NdSbp>> candidates() {
        return candidates;
    }

    Map<Integer, Integer> accumulatorOf() {
        return accumulatorOf;
    }

    List<Integer> roleMates(int variable) {
        return roleMates.get(variable);
    }
}
