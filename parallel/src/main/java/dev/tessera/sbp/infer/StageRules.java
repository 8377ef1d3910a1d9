package dev.tessera.sbp.infer;

import dev.tessera.graph.Op;
import dev.tessera.graph.Tensor;
import dev.tessera.graph.TensorKind;
import dev.tessera.sbp.Placement;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Puts ops on stages by name: each rule maps a name prefix to a placement, e.g.
 * {@code "block1." -> devices 2-3}. An op takes the placement of the longest prefix matching its
 * name; an op no rule names stays with what it belongs to (see {@link #resolve}): a backward or
 * update op with the forward op autodiff recorded for it ({@link Op#forwardOp()}), so a gradient
 * op runs with its forward op and a parameter's accumulation, clipping and update with the
 * parameter's first reader.
 */
public final class StageRules {
    private final Map<String, Placement> byPrefix;

    public StageRules(Map<String, Placement> byPrefix) {
        this.byPrefix = new LinkedHashMap<>(byPrefix);
        byPrefix.forEach((prefix, placement) -> {
            if (prefix.isEmpty()) {
                throw new IllegalArgumentException("a stage rule needs a non-empty name prefix (placement " + placement
                        + "); the default placement covers every op no rule matches");
            }
        });
    }

    /**
     * The placement of every op of {@code ops} (in topological order) that is not
     * {@code defaultPlacement}. In order of precedence: a rule matching the op's name; the
     * placement of the forward op a backward or update op belongs to ({@link Op#forwardOp()});
     * the placement of a parameter the op reads, a parameter being placed with its first reader;
     * the placement of the latest producer of its inputs; the default. An op reading only data
     * inputs, or nothing, runs where another reader of the same input (of its output) runs.
     */
    public Map<Op, Placement> resolve(List<Op> ops, Placement defaultPlacement) {
        return resolve(ops, defaultPlacement, Map.of());
    }

    /**
     * As {@link #resolve(List, Placement)}, with the ops of {@code fixed} placed where it says
     * (ahead of any rule); every other op follows by the same precedence. How a stage cut made by
     * the cost model ({@link StageBalancer}) places the backward and update ops.
     */
    public Map<Op, Placement> resolve(List<Op> ops, Placement defaultPlacement, Map<Op, Placement> fixed) {
        Map<Op, Placement> guessed = new HashMap<>();
        Map<Op, Placement> first = resolve(ops, defaultPlacement, fixed, guessed);
        if (guessed.isEmpty()) {
            return first;
        }
        // An op that reads only data inputs (a label count) or nothing (the loss gradient's seed)
        // had nothing to follow and fell to the default: it goes where another op reading the same
        // input (or its output) runs, so nothing is sent between stages for it; then everything
        // is resolved again around it, until nothing moves (moving one can move what another follows).
        Map<Op, Placement> resolved = first;
        Map<Op, Placement> overrides = new HashMap<>();
        for (int round = 0; round < 4; round++) {
            Map<Op, Placement> next = new HashMap<>();
            for (Op op : guessed.keySet()) {
                if (fixed.containsKey(op)) {
                    continue;
                }
                for (Op other : ops) {
                    boolean related = op.inputs().isEmpty() ? other.inputs().stream().anyMatch(op.outputs()::contains)
                            : other.inputs().stream().anyMatch(op.inputs()::contains);
                    if (other != op && !guessed.containsKey(other) && related) {
                        next.put(op, resolved.getOrDefault(other, defaultPlacement));
                        break;
                    }
                }
            }
            if (next.equals(overrides)) {
                break;
            }
            overrides = next;
            Map<Op, Placement> all = new HashMap<>(next);
            all.putAll(fixed);
            resolved = resolve(ops, defaultPlacement, all, new HashMap<>());
        }
        return resolved;
    }

    private Map<Op, Placement> resolve(List<Op> ops, Placement defaultPlacement, Map<Op, Placement> overrides,
            Map<Op, Placement> guessed) {
        Map<Op, Placement> stages = new LinkedHashMap<>();
        Map<Op, Placement> byOp = new HashMap<>();
        Map<Tensor, Placement> parameters = new LinkedHashMap<>();
        Map<Tensor, Placement> producedOn = new HashMap<>();
        Map<Tensor, Integer> producedAt = new HashMap<>();
        for (int index = 0; index < ops.size(); index++) {
            Op op = ops.get(index);
            Placement chosen = overrides.containsKey(op) ? overrides.get(op) : match(op.name());
            if (chosen == null) {
                chosen = op.forwardOp().map(byOp::get).orElse(null);
            }
            if (chosen == null) {
                chosen = ownerOf(op, parameters);
            }
            if (chosen == null) {
                int latest = -1;
                for (Tensor input : op.inputs()) {
                    if (producedAt.getOrDefault(input, -1) > latest) {
                        latest = producedAt.get(input);
                        chosen = producedOn.get(input);
                    }
                }
            }
            if (chosen == null) {
                chosen = defaultPlacement;
                if (op.inputs().stream().allMatch(t -> t.kind() == TensorKind.INPUT)) {
                    guessed.put(op, chosen);
                }
            }
            if (!chosen.equals(defaultPlacement)) {
                stages.put(op, chosen);
            }
            byOp.put(op, chosen);
            for (Tensor input : op.inputs()) {
                if (input.kind() == TensorKind.PARAMETER) {
                    parameters.putIfAbsent(input, chosen);
                }
            }
            for (Tensor output : op.outputs()) {
                producedOn.put(output, chosen);
                producedAt.put(output, index);
            }
        }
        return stages;
    }

    /** The placement of a parameter the op reads. */
    private static Placement ownerOf(Op op, Map<Tensor, Placement> parameters) {
        for (Tensor input : op.inputs()) {
            if (input.kind() == TensorKind.PARAMETER && parameters.containsKey(input)) {
                return parameters.get(input);
            }
        }
        return null;
    }

    private Placement match(String name) {
        String best = null;
        for (String prefix : byPrefix.keySet()) {
            if (name.startsWith(prefix) && (best == null || prefix.length() > best.length())) {
                best = prefix;
            }
        }
        return best == null ? null : byPrefix.get(best);
    }
}
