package dev.tessera.runtime.wire;

import dev.tessera.proto.runtime.ActionFailure;
import dev.tessera.proto.runtime.RegisterAck;
import dev.tessera.proto.runtime.RegisterReady;
import dev.tessera.runtime.ActionFailedException;
import dev.tessera.runtime.ActorMessage;
import dev.tessera.runtime.JobMessage;

/**
 * Converts the runtime's in-JVM messages to their remote form ({@code tessera_runtime.proto})
 * and back. An in-JVM message is addressed by the actor reference it is sent to, so it carries
 * only the receiver's side of an edge; the remote form names both ends, which the caller (the
 * sending side, which knows its plan) supplies. Payloads never travel here: the receiving side
 * passes the tensor its transport delivered to {@link #decodeReady}.
 */
public final class RuntimeMessageCodec {
    private final int microBatches;

    /**
     * @param microBatches micro-batches per iteration of the run, to split the runtime's step
     *                     count into iteration and micro-batch and join them again
     */
    public RuntimeMessageCodec(int microBatches) {
        if (microBatches < 1) {
            throw new IllegalArgumentException("a runtime message codec needs microBatches >= 1, got "
                    + microBatches + "; pass the run's RunOptions.microBatches()");
        }
        this.microBatches = microBatches;
    }

    /** The ready notice that producer {@code producer} sends from its output {@code output} to {@code consumer}. */
    public RegisterReady encodeReady(ActorMessage.Ready ready, int producer, int output, int consumer) {
        return RegisterReady.newBuilder()
                .setProducerActor(producer)
                .setOutput(output)
                .setRegister(ready.register())
                .setMicroBatch((int) (ready.step() % microBatches))
                .setIteration(ready.step() / microBatches)
                .setConsumerActor(consumer)
                .setConsumerInput(ready.input())
                .build();
    }

    /** The in-JVM ready notice for the consumer, holding {@code payload}, the register's tensor as received. */
    public ActorMessage.Ready decodeReady(RegisterReady ready, Object payload) {
        if (ready.getMicroBatch() < 0 || ready.getMicroBatch() >= microBatches) {
            throw new IllegalArgumentException("ready notice from actor " + ready.getProducerActor() + " output "
                    + ready.getOutput() + " names micro-batch " + ready.getMicroBatch() + " but the run has "
                    + microBatches + " micro-batches per iteration; both processes must run the same RunOptions");
        }
        long step = ready.getIteration() * microBatches + ready.getMicroBatch();
        return new ActorMessage.Ready(ready.getConsumerInput(), ready.getRegister(), payload, step);
    }

    /** The ack that {@code consumer} sends to {@code producer}. */
    public RegisterAck encodeAck(ActorMessage.Ack ack, int consumer, int producer) {
        return RegisterAck.newBuilder()
                .setConsumerActor(consumer)
                .setProducerActor(producer)
                .setOutput(ack.output())
                .setRegister(ack.register())
                .build();
    }

    public ActorMessage.Ack decodeAck(RegisterAck ack) {
        return new ActorMessage.Ack(ack.getOutput(), ack.getRegister());
    }

    /** The end of stream that producer {@code producer} sends from its output {@code output} to {@code consumer}. */
    public dev.tessera.proto.runtime.EndOfStream encodeEndOfStream(ActorMessage.EndOfStream end, int producer,
                                                                   int output, int consumer) {
        return dev.tessera.proto.runtime.EndOfStream.newBuilder()
                .setProducerActor(producer)
                .setOutput(output)
                .setConsumerActor(consumer)
                .setConsumerInput(end.input())
                .build();
    }

    public ActorMessage.EndOfStream decodeEndOfStream(dev.tessera.proto.runtime.EndOfStream end) {
        return new ActorMessage.EndOfStream(end.getConsumerInput());
    }

    /**
     * The failure report of an actor. An {@link ActionFailedException} gives the op, device,
     * micro-batch and iteration; any other error (a protocol error) only its text.
     */
    public ActionFailure encodeFailure(JobMessage.ActorFailed failed) {
        ActionFailure.Builder report = ActionFailure.newBuilder().setActor(failed.actor());
        if (failed.error() instanceof ActionFailedException action) {
            return report.setActorName(action.actor())
                    .setOp(action.op())
                    .setDevice(action.device())
                    .setMicroBatch(action.microBatch())
                    .setIteration(action.iteration())
                    .setMessage(String.valueOf(action.getCause()))
                    .build();
        }
        return report.setMicroBatch(-1).setIteration(-1).setMessage(String.valueOf(failed.error())).build();
    }

    /**
     * The failure as the job sees it: an {@link ActionFailedException} whose cause is a
     * {@link RemoteFailure} with the remote error's text, so its message reads as it did
     * where the action failed; a failure outside an action is the {@link RemoteFailure} itself.
     */
    public JobMessage.ActorFailed decodeFailure(ActionFailure failure) {
        RemoteFailure remote = new RemoteFailure(failure.getMessage());
        if (failure.getOp().isEmpty()) {
            return new JobMessage.ActorFailed(failure.getActor(), remote);
        }
        return new JobMessage.ActorFailed(failure.getActor(), new ActionFailedException(failure.getActorName(),
                failure.getOp(), failure.getDevice(), failure.getMicroBatch(), failure.getIteration(), remote));
    }
}
