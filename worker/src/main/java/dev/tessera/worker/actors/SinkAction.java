package dev.tessera.worker.actors;

import dev.tessera.runtime.ActionContext;
import dev.tessera.runtime.ActorAction;
import dev.tessera.worker.exec.NonFiniteException;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Records and checks a scalar per micro-batch: the loss, or the gradient norm, which its op
 * computes at the last micro-batch of an iteration. A non-finite one stops the job; the plan compiler
 * orders the norm's op after the loss sink and every update op that writes after a norm sink of
 * its device, so a stopped iteration updates nothing. Each device with such update ops has its
 * own norm sink (an update waits only for actors of its device); one of them records the norm.
 */
final class SinkAction implements ActorAction {
    private final boolean loss;
    private final boolean records;
    private final String tensor;
    private final String producer;
    private final RunState run;

    private SinkAction(boolean loss, boolean records, String tensor, String producer, RunState run) {
        this.loss = loss;
        this.records = records;
        this.tensor = tensor;
        this.producer = producer;
        this.run = run;
    }

    static SinkAction loss(String tensor, String producer, RunState run) {
        return new SinkAction(true, true, tensor, producer, run);
    }

    /** @param records whether this sink is the one that records the norm in the run's results */
    static SinkAction gradientNorm(String tensor, String producer, boolean records, RunState run) {
        return new SinkAction(false, records, tensor, producer, run);
    }

    @Override
    public void act(ActionContext context) {
        double value = ((INDArray) context.input(0)).getDouble(0);
        int iteration = (int) context.iteration();
        if (!loss) {
            // before the last micro-batch the norm's register still holds an earlier value
            if (context.microBatch() != run.microBatches - 1) {
                return;
            }
            if (records) {
                run.gradNorms[iteration] = value;
            }
            if (!Double.isFinite(value)) {
                throw NonFiniteException.gradientNorm(run.firstIteration + iteration, tensor, producer,
                        "gradient norm " + value);
            }
            return;
        }
        run.losses[iteration * run.microBatches + context.microBatch()] = value;
        // a replay looking for the op behind a non-finite loss runs to its end
        if (!Double.isFinite(value) && run.nonFinite == null) {
            throw NonFiniteException.loss(run.firstIteration + iteration, tensor, producer,
                    "micro-batch " + context.microBatch() + ", loss " + value);
        }
    }
}
