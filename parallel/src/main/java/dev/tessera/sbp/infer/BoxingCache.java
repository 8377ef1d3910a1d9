package dev.tessera.sbp.infer;

import dev.tessera.graph.TensorType;
import dev.tessera.sbp.NdSbp;
import dev.tessera.sbp.Placement;
import dev.tessera.sbp.boxing.Boxing;
import dev.tessera.sbp.boxing.BoxingCost;
import dev.tessera.sbp.boxing.BoxingPlan;
import java.util.HashMap;
import java.util.Map;

/**
 * The boxing table's answers on one placement, remembered by (type, from, to). A conversion
 * depends on the tensor only through its type, and a deep model asks the same question for
 * every layer: a 96-layer GPT graph scores millions of layout pairs but only hundreds of
 * distinct ones, and plans on thousands of devices are costly to build (one peer group list
 * per step). Not thread-safe: one per inference run.
 */
public final class BoxingCache {
    private record Key(TensorType type, NdSbp from, NdSbp to) {
    }

    private final Placement placement;
    private final Map<Key, BoxingCost> costs = new HashMap<>();
    private final Map<Key, BoxingPlan> plans = new HashMap<>();

    public BoxingCache(Placement placement) {
        this.placement = placement;
    }

    public Placement placement() {
        return placement;
    }

    /** {@link Boxing#cost} on this placement; errors name {@code tensor}, as Boxing's do. */
    public BoxingCost cost(String tensor, TensorType type, NdSbp from, NdSbp to) {
        Key key = new Key(type, from, to);
        BoxingCost cost = costs.get(key);
        if (cost == null) {
            cost = Boxing.cost(tensor, type, placement, from, placement, to);
            costs.put(key, cost);
        }
        return cost;
    }

    /** {@link Boxing#plan} on this placement, its steps shared with earlier plans of the same type and layouts. */
    public BoxingPlan plan(String tensor, TensorType type, NdSbp from, NdSbp to) {
        Key key = new Key(type, from, to);
        BoxingPlan plan = plans.get(key);
        if (plan == null) {
            plan = Boxing.plan(tensor, type, placement, from, to);
            plans.put(key, plan);
            return plan;
        }
        return new BoxingPlan(tensor, type, placement, from, placement, to, plan.steps());
    }
}
