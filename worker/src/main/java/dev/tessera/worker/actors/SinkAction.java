package dev.tessera.worker.actors;

import dev.tessera.runtime.ActionContext;
import dev.tessera.runtime.ActorAction;
import dev.tessera.worker.exec.NonFiniteException;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Records a scalar per micro-batch: the loss (a non-finite one stops the job, before any update
 * of that iteration), or the gradient norm, which the clipping op computes at the last
 * micro-batch of an iteration.
 */
final class SinkAction implements ActorAction {
    private final boolean loss;
    private final String producer;
    private final RunState run;

    SinkAction(boolean loss, String producer, RunState run) {
        this.loss = loss;
        this.producer = producer;
        this.run = run;
    }

    @Override
    public void act(ActionContext context) {
        double value = ((INDArray) context.input(0)).getDouble(0);
        int iteration = (int) context.iteration();
        if (!loss) {
            if (context.microBatch() == run.microBatches - 1) {
                run.gradNorms[iteration] = value;
            }
            return;
        }
        run.losses[iteration * run.microBatches + context.microBatch()] = value;
        if (!Double.isFinite(value)) {
            throw new NonFiniteException(run.firstIteration + iteration, producer,
                    "micro-batch " + context.microBatch() + ", loss " + value);
        }
    }
}
