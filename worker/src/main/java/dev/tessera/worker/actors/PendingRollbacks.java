package dev.tessera.worker.actors;

import dev.tessera.graph.Op;
import dev.tessera.optim.BackedUpUpdate;
import dev.tessera.optim.OptimizerUpdate;
import dev.tessera.optim.ValidateUpdate;
import dev.tessera.runtime.ActionContext;
import dev.tessera.runtime.ActorAction;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Post-validation steps taken and not yet validated. A non-finite gradient norm stops the job at
 * the first norm sink that sees it; another device may stop before its validations ran, with its
 * steps of the failing iteration still applied. After the run, {@link #undo} restores those from
 * their rollback copies, so the failing iteration changes nothing on any device, as before a
 * synchronised step. Device threads record concurrently; the executor undoes after every actor
 * of the run stopped.
 */
final class PendingRollbacks {
    private record Pending(long iteration, Runnable undo) {
    }

    /** By parameter part: its last step not yet validated. */
    private final Map<String, Pending> pending = new ConcurrentHashMap<>();

    /**
     * The action of a {@link BackedUpUpdate} or {@link ValidateUpdate} op, recording around
     * {@code action}; any other op's action unchanged.
     *
     * @param buffers the op's persistent buffers, by input index
     */
    ActorAction record(Op op, INDArray[] buffers, RunState run, ActorAction action) {
        if (op.def() instanceof BackedUpUpdate backedUp) {
            Runnable undo = undo(backedUp.update(), buffers);
            String parameter = op.input(0).name();
            return context -> {
                action.act(context);
                if (isLastMicroBatch(context, run)) {
                    pending.put(parameter, new Pending(run.firstIteration + context.iteration(), undo));
                }
            };
        }
        if (op.def() instanceof ValidateUpdate) {
            String parameter = op.input(0).name();
            return context -> {
                action.act(context);
                if (isLastMicroBatch(context, run)) {
                    pending.remove(parameter);
                }
            };
        }
        return action;
    }

    /**
     * Restores every step of {@code iteration} not validated; call only after the run stopped.
     *
     * @return how many parameter parts were restored
     */
    int undo(long iteration) {
        List<String> undone = new ArrayList<>();
        pending.forEach((parameter, step) -> {
            if (step.iteration() == iteration) {
                step.undo().run();
                undone.add(parameter);
            }
        });
        pending.clear();
        return undone.size();
    }

    private static boolean isLastMicroBatch(ActionContext context, RunState run) {
        return context.microBatch() == run.microBatches - 1;
    }

    private static Runnable undo(OptimizerUpdate update, INDArray[] buffers) {
        List<Integer> mutated = update.mutatedInputs();
        return () -> {
            for (int i = 0; i < mutated.size(); i++) {
                buffers[mutated.get(i)].assign(buffers[update.inputCount() + i]);
            }
        };
    }
}
