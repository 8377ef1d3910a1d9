package dev.tessera.worker.actors;

import dev.tessera.graph.Tensor;
import dev.tessera.runtime.ActionContext;
import dev.tessera.runtime.ActorAction;
import dev.tessera.worker.exec.HostTensors;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Copies data input {@code tensor} of micro-batch k into its register, one preallocated buffer per register. */
final class SourceAction implements ActorAction {
    private final Tensor tensor;
    private final RunState run;
    private final RegisterBuffers buffers = new RegisterBuffers();

    SourceAction(Tensor tensor, RunState run) {
        this.tensor = tensor;
        this.run = run;
    }

    @Override
    public Object createPayload(int output, int register) {
        return buffers.get(output, register, tensor.type());
    }

    @Override
    public void act(ActionContext context) {
        HostTensors.copyInto(run.batches.get((int) context.iteration()).get(context.microBatch()).get(tensor.name()),
                (INDArray) context.output(0));
    }

    void close() {
        buffers.close();
    }
}
