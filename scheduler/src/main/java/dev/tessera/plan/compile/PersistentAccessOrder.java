package dev.tessera.plan.compile;

import dev.tessera.graph.Phase;
import dev.tessera.graph.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * Orders the accesses of compute actors to parameter and optimizer-state buffers, which no
 * register carries: within an iteration in the reference order (an update after every F/B/W op
 * that touches its tensors), and across iterations (an F/B/W op in iteration t+1 after the
 * update that wrote or read its tensor in iteration t).
 */
final class PersistentAccessOrder {
    private PersistentAccessOrder() {
    }

    private record Access(ActorDraft actor, boolean writes) {
        boolean update() {
            return actor.phase == Phase.UPDATE;
        }
    }

    /**
     * @param perMicroBatch   adds a control edge (earlier, later)
     * @param acrossIterations adds an iteration edge (earlier, later)
     * @throws IllegalArgumentException when an F/B/W op writes a tensor that another F/B/W op uses
     */
    static void apply(List<ActorDraft> opActors, BiConsumer<ActorDraft, ActorDraft> perMicroBatch,
                      BiConsumer<ActorDraft, ActorDraft> acrossIterations) {
        Map<Tensor, List<Access>> accesses = new LinkedHashMap<>();
        for (ActorDraft actor : opActors) {
            Map<Tensor, Boolean> touched = new LinkedHashMap<>();
            for (int k = 0; k < actor.op.inputs().size(); k++) {
                if (actor.operands[k] == ActorDraft.PERSISTENT) {
                    touched.merge(actor.reads[k], actor.op.def().mutatedInputs().contains(k), Boolean::logicalOr);
                }
            }
            touched.forEach((tensor, writes) ->
                    accesses.computeIfAbsent(tensor, t -> new ArrayList<>()).add(new Access(actor, writes)));
        }
        accesses.forEach((tensor, list) -> {
            if (list.stream().noneMatch(Access::writes)) {
                return;
            }
            List<Access> everyMicroBatch = list.stream().filter(a -> !a.update()).toList();
            if (everyMicroBatch.size() > 1 && everyMicroBatch.stream().anyMatch(Access::writes)) {
                throw new IllegalArgumentException("'" + tensor.name() + "' is written by an F/B/W op and used by "
                        + everyMicroBatch.size() + " F/B/W ops (" + everyMicroBatch.stream().map(a -> a.actor.name)
                        .toList() + "); the plan keeps such a tensor in order only when one op uses it per "
                        + "micro-batch: accumulate into it from a single op");
            }
            for (int i = 0; i < list.size(); i++) {
                for (int j = i + 1; j < list.size(); j++) {
                    Access a = list.get(i);
                    Access b = list.get(j);
                    if (a.writes || b.writes) {
                        perMicroBatch.accept(a.actor, b.actor);
                        if (a.update() && b.update()) {
                            acrossIterations.accept(b.actor, a.actor);
                        }
                    }
                }
            }
            for (Access update : list) {
                for (Access access : everyMicroBatch) {
                    if (update.update() && (update.writes || access.writes)) {
                        acrossIterations.accept(update.actor, access.actor);
                    }
                }
            }
        });
    }
}
