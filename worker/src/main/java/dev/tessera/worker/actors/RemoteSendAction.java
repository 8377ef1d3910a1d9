package dev.tessera.worker.actors;

import dev.tessera.graph.TensorType;
import dev.tessera.runtime.ActionContext;
import dev.tessera.runtime.ActorAction;
import dev.tessera.runtime.plan.Device;
import dev.tessera.runtime.transport.ElementType;
import dev.tessera.runtime.transport.SentBytes;
import dev.tessera.runtime.transport.TensorBuffer;
import dev.tessera.runtime.transport.Transport;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The producer's end of a data edge to another process: a sink on the producer's device, right
 * after the producer in its action order, that copies each register into a staging buffer and
 * posts it on the tensor transport. It returns at once, so the producer's device never waits
 * for the far consumer (which posts its receive in its own order); the register is free again
 * as soon as it is copied, as it would be once an in-process transfer took it. Staging buffers
 * come back to a pool when their send completes, so a run allocates only while more are in
 * flight than ever before.
 */
final class RemoteSendAction implements ActorAction {
    private final String name;
    private final TensorType type;
    private final int[] shape;
    private final ElementType elementType;
    private final Transport transport;
    private final Device source;
    private final Device destination;
    private final int edge;
    private final RemoteEdges edges;
    private final RunState run;
    private final SentBytes sentBytes;
    private final WrappedArrays wrapped;
    private final ConcurrentLinkedQueue<TensorBuffer> free = new ConcurrentLinkedQueue<>();

    /** @param type the tensor the edge carries; null for an ordering token, sent as an empty message */
    RemoteSendAction(String name, TensorType type, Transport transport, Device source, Device destination, int edge,
                     RemoteEdges edges, RunState run, SentBytes sentBytes) {
        this.name = name;
        this.type = type;
        this.shape = type == null ? new int[] {0} : type.shape().toArray();
        this.elementType = type == null ? ElementType.F32 : CollectiveAction.elementType(type.dtype());
        this.transport = transport;
        this.source = source;
        this.destination = destination;
        this.edge = edge;
        this.edges = edges;
        this.run = run;
        this.sentBytes = sentBytes;
        this.wrapped = new WrappedArrays(name, elementType);
    }

    @Override
    public void act(ActionContext context) {
        TensorBuffer staging = free.poll();
        if (staging == null) {
            staging = TensorBuffer.allocate(elementType, shape);
        }
        if (type != null) {
            staging.copyFrom(wrapped.wrap((INDArray) context.input(0), shape));
        }
        long step = (run.firstIteration + context.iteration()) * run.microBatches + context.microBatch();
        TensorBuffer posted = staging;
        CompletableFuture<Void> send = transport.send(source, destination, edges.messageId(edge, step), posted);
        edges.sent(send.whenComplete((done, failure) -> {
            if (failure == null) {
                sentBytes.add(source, posted.byteSize());
            }
            free.add(posted);
        }));
    }

    @Override
    public String toString() {
        return name;
    }
}
