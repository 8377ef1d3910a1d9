package dev.tessera.worker.actors;

import dev.tessera.graph.DType;
import dev.tessera.graph.Op;
import dev.tessera.graph.Phase;
import dev.tessera.runtime.ActionContext;
import dev.tessera.runtime.AsyncActorAction;
import dev.tessera.runtime.transport.Communicator;
import dev.tessera.runtime.transport.ElementType;
import dev.tessera.runtime.transport.TensorBuffer;
import dev.tessera.worker.collective.CollectiveMember;
import dev.tessera.worker.collective.CollectiveSchedule;
import dev.tessera.worker.collective.GradientBucket;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A collective member actor: runs its {@link CollectiveSchedule} over its group's
 * {@link Communicator}, reading its own part (an input register, or a parameter or state buffer
 * bound directly) and writing its result into its output register, both wrapped without a copy.
 * The member is bound once to each pair of buffers it meets, so a run allocates nothing but the
 * transport's messages. Like an {@link OpAction}, a member of an update op runs only at the last
 * micro-batch of an iteration; every member of its group does the same, so their runs agree.
 */
final class CollectiveAction implements AsyncActorAction {
    private final Op op;
    private final int slot;
    private final INDArray persistentInput;
    private final ElementType type;
    private final RunState run;
    private final boolean update;
    private final RegisterBuffers buffers = new RegisterBuffers();
    private final WrappedArrays wrapped;
    private final Map<INDArray, Map<INDArray, CollectiveMember.Binding>> bindings = new IdentityHashMap<>();
    private final CollectiveMember member;
    private final GradientBucket bucket;
    private final int bucketPosition;

    /**
     * @param slot the actor input its part arrives on, or {@link OpAction#PERSISTENT} when it is a
     *     parameter or state buffer
     * @param persistentInput that buffer (null for a register input)
     */
    CollectiveAction(Op op, int slot, INDArray persistentInput, CollectiveSchedule schedule,
            Communicator communicator, RunState run) {
        this(op, slot, persistentInput, schedule, communicator, run, null, -1);
    }

    /**
     * A member whose all-reduce runs fused into {@code bucket} (at {@code position}) instead of
     * on its own: it arrives there with its buffers, and completes when the bucket has run.
     */
    CollectiveAction(Op op, int slot, INDArray persistentInput, CollectiveSchedule schedule,
            Communicator communicator, RunState run, GradientBucket bucket, int position) {
        this.op = op;
        this.slot = slot;
        this.persistentInput = persistentInput;
        this.type = elementType(op.input(0).dtype());
        this.run = run;
        this.update = op.phase() == Phase.UPDATE;
        this.bucket = bucket;
        this.bucketPosition = position;
        this.member = bucket == null ? new CollectiveMember(schedule, communicator, type) : null;
        this.wrapped = new WrappedArrays("collective '" + op.name() + "'", type);
    }

    @Override
    public Object createPayload(int output, int register) {
        // Outputs past the op's own are ordering tokens without payload.
        return output == 0 ? buffers.get(0, register, op.output(0).type()) : null;
    }

    @Override
    public CompletionStage<Void> start(ActionContext context) {
        if (update && context.microBatch() != run.microBatches - 1) {
            return CompletableFuture.completedFuture(null);
        }
        INDArray input = slot < 0 ? persistentInput : (INDArray) context.input(slot);
        INDArray output = (INDArray) context.output(0);
        if (bucket != null) {
            return bucket.arrive(bucketPosition, wrapped.wrap(input, op.input(0).shape().toArray()),
                    wrapped.wrap(output, op.output(0).shape().toArray()), context.executor());
        }
        CollectiveMember.Binding binding = bindings.computeIfAbsent(input, in -> new IdentityHashMap<>())
                .computeIfAbsent(output, out -> member.bind(wrapped.wrap(input, op.input(0).shape().toArray()),
                        wrapped.wrap(out, op.output(0).shape().toArray())));
        // the executor is this run's actor's: the member outlives the runs of the actor system
        return member.run(binding, context.executor());
    }

    static ElementType elementType(DType dtype) {
        return switch (dtype) {
            case F32 -> ElementType.F32;
            case F64 -> ElementType.F64;
            case I32 -> ElementType.I32;
        };
    }

    void close() {
        buffers.close();
    }
}
