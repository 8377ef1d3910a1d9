package dev.tessera.worker.actors;

import dev.tessera.graph.TensorType;
import dev.tessera.runtime.ActionContext;
import dev.tessera.runtime.AsyncActorAction;
import dev.tessera.runtime.plan.Device;
import dev.tessera.runtime.transport.ElementType;
import dev.tessera.runtime.transport.TensorBuffer;
import dev.tessera.runtime.transport.Transport;
import java.util.concurrent.CompletionStage;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The consumer's end of a data edge from another process: the plan's transfer actor, turned into
 * a source of its device that receives each micro-batch's tensor from the tensor transport
 * straight into its output register (no copy: the register's memory is the receive buffer). It
 * acts where the transfer would have, in the same place of its device's action order, and like
 * the transfer it cannot finish before the producer's data is there; while it waits the device
 * runs nothing else of its order, as with the transfer.
 */
final class RemoteReceiveAction implements AsyncActorAction {
    private final TensorType type;
    private final int[] shape;
    private final Transport transport;
    private final Device source;
    private final Device destination;
    private final int edge;
    private final RemoteEdges edges;
    private final RunState run;
    private final RegisterBuffers buffers = new RegisterBuffers();
    private final WrappedArrays wrapped;
    private final TensorBuffer token = TensorBuffer.allocate(ElementType.F32, 0);

    /** @param type the tensor the edge carries; null for an ordering token (an empty message) */
    RemoteReceiveAction(String name, TensorType type, Transport transport, Device source, Device destination, int edge,
                        RemoteEdges edges, RunState run) {
        this.type = type;
        this.shape = type == null ? new int[] {0} : type.shape().toArray();
        this.transport = transport;
        this.source = source;
        this.destination = destination;
        this.edge = edge;
        this.edges = edges;
        this.run = run;
        this.wrapped = new WrappedArrays(name, type == null ? ElementType.F32 : CollectiveAction.elementType(type.dtype()));
    }

    @Override
    public Object createPayload(int output, int register) {
        return type == null ? null : buffers.get(output, register, type);
    }

    @Override
    public CompletionStage<Void> start(ActionContext context) {
        TensorBuffer into = type == null ? token : wrapped.wrap((INDArray) context.output(0), shape);
        long iteration = run.firstIteration + context.iteration();
        long step = iteration * run.microBatches + context.microBatch();
        return edges.receiving(iteration, transport.receive(destination, source, edges.messageId(edge, step), into));
    }

    void close() {
        buffers.close();
    }
}
