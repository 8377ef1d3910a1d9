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
 * Puts ops on stages by name: each rule maps a name prefix to a placement. An op takes the
 * placement of the longest prefix matching its own name (so {@code "block1."} also catches
 * {@code block1.fc.matmul.grad}, the gradient ops autodiff names after their forward op) or,
 * failing that, the name of a parameter or optimizer-state tensor it reads (a parameter's
 * accumulation, clipping and update: {@code block1.fc.weight.update}); an op matching nothing
 * runs where the latest producer of its inputs runs, or on the default placement.
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

    /** The placement of every op of {@code ops} (in topological order) that is not {@code defaultPlacement}. */
    public Map<Op, Placement> resolve(List<Op> ops, Placement defaultPlacement) {
        Map<Op, Placement> stages = new LinkedHashMap<>();
        Map<Tensor, Placement> producedOn = new HashMap<>();
        for (Op op : ops) {
            Placement chosen = match(op.name());
            if (chosen == null) {
                for (Tensor input : op.inputs()) {
                    if (input.kind() == TensorKind.PARAMETER || input.kind() == TensorKind.STATE) {
                        chosen = match(input.name());
                        if (chosen != null) {
                            break;
                        }
                    }
                }
            }
            if (chosen == null) {
                for (Tensor input : op.inputs()) {
                    if (producedOn.containsKey(input)) {
                        chosen = producedOn.get(input);
                    }
                }
            }
            if (chosen == null) {
                chosen = defaultPlacement;
            }
            if (!chosen.equals(defaultPlacement)) {
                stages.put(op, chosen);
            }
            for (Tensor output : op.outputs()) {
                producedOn.put(output, chosen);
            }
        }
        return stages;
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
