package dev.tessera.runtime.plan;

import java.util.List;

/**
 * The order in which the actors of one device act within each iteration, as a pipeline
 * schedule sets it (e.g. GPipe's F0 F1 B0 B1, or 1F1B's F0 F1 B0 F2 B1 ...). The same order
 * repeats every iteration. An actor of an ordered device acts only when it is the device's next
 * action, and still only once its inputs are ready, a register of every output is free and its
 * control and iteration predecessors acted. The next action gets its turn when the previous one
 * completed, or, for one marked {@link OrderedAction#movesOnAtStart}, when it started.
 *
 * <p>The rule an order follows, checked by {@link PlanValidator}: the runtime gives every actor
 * one action per micro-batch, so an order lists every actor of its device exactly once for each
 * micro-batch 0 to {@code microBatches - 1}, each actor's micro-batches in increasing order, and
 * no actor of another device. This holds for actors whose work happens once per iteration too:
 * an update op (phase U) or a gradient-norm sink still acts for every micro-batch (doing nothing
 * before the last), so a schedule lists it for each micro-batch, usually all together where the
 * update belongs (after the last backward of its tensors).
 *
 * @param device  index of the ordered device
 * @param actions every action of one iteration, in the order they run
 */
public record ActionOrder(int device, List<OrderedAction> actions) {
    public ActionOrder {
        actions = List.copyOf(actions);
    }

    /** Micro-batches per iteration the order implies: one more than the highest it lists. */
    public int microBatches() {
        int highest = -1;
        for (OrderedAction action : actions) {
            highest = Math.max(highest, action.microBatch());
        }
        return highest + 1;
    }
}
