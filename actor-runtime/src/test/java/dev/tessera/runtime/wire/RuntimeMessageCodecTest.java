package dev.tessera.runtime.wire;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.proto.runtime.RuntimeEnvelope;
import dev.tessera.runtime.ActionFailedException;
import dev.tessera.runtime.ActorMessage;
import dev.tessera.runtime.JobMessage;
import org.junit.jupiter.api.Test;

class RuntimeMessageCodecTest {
    private final RuntimeMessageCodec codec = new RuntimeMessageCodec(4);

    /** What the other process reads: the envelope's bytes, parsed again. */
    private static RuntimeEnvelope overTheWire(RuntimeEnvelope envelope) throws Exception {
        return RuntimeEnvelope.parseFrom(envelope.toByteArray());
    }

    @Test
    void shouldRoundTripReadyNoticeWithIterationAndMicroBatchOfItsStep() throws Exception {
        Object tensor = new float[] {1f, 2f};
        // Step 29 with 4 micro-batches per iteration: micro-batch 1 of iteration 7.
        ActorMessage.Ready original = new ActorMessage.Ready(1, 1, tensor, 29);

        RuntimeEnvelope received = overTheWire(RuntimeEnvelope.newBuilder()
                .setReady(codec.encodeReady(original, 4, 0, 9)).build());

        assertEquals(4, received.getReady().getProducerActor());
        assertEquals(0, received.getReady().getOutput());
        assertEquals(9, received.getReady().getConsumerActor());
        assertEquals(1, received.getReady().getMicroBatch());
        assertEquals(7, received.getReady().getIteration());
        assertEquals(original, codec.decodeReady(received.getReady(), tensor));
    }

    @Test
    void shouldRejectReadyNoticeWhoseMicroBatchIsOutsideTheRun() throws Exception {
        RuntimeEnvelope received = overTheWire(RuntimeEnvelope.newBuilder()
                .setReady(new RuntimeMessageCodec(8).encodeReady(new ActorMessage.Ready(0, 0, null, 6), 4, 0, 9))
                .build());

        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                () -> codec.decodeReady(received.getReady(), null));
        assertTrue(error.getMessage().contains("micro-batch 6"), error.getMessage());
    }

    @Test
    void shouldRoundTripAck() throws Exception {
        ActorMessage.Ack original = new ActorMessage.Ack(2, 1);

        RuntimeEnvelope received = overTheWire(RuntimeEnvelope.newBuilder()
                .setAck(codec.encodeAck(original, 9, 4)).build());

        assertEquals(9, received.getAck().getConsumerActor());
        assertEquals(4, received.getAck().getProducerActor());
        assertEquals(original, codec.decodeAck(received.getAck()));
    }

    @Test
    void shouldRoundTripEndOfStream() throws Exception {
        ActorMessage.EndOfStream original = new ActorMessage.EndOfStream(3);

        RuntimeEnvelope received = overTheWire(RuntimeEnvelope.newBuilder()
                .setEndOfStream(codec.encodeEndOfStream(original, 4, 1, 9)).build());

        assertEquals(4, received.getEndOfStream().getProducerActor());
        assertEquals(1, received.getEndOfStream().getOutput());
        assertEquals(9, received.getEndOfStream().getConsumerActor());
        assertEquals(original, codec.decodeEndOfStream(received.getEndOfStream()));
    }

    @Test
    void shouldRoundTripActionFailureWithOpDeviceMicroBatchIterationAndMessage() throws Exception {
        ActionFailedException error = new ActionFailedException("fc2.matmul", "matmul", "cpu:1", 1, 7,
                new IllegalStateException("inner dimensions 3 and 4 differ"));
        JobMessage.ActorFailed original = new JobMessage.ActorFailed(9, error);

        RuntimeEnvelope received = overTheWire(RuntimeEnvelope.newBuilder()
                .setFailure(codec.encodeFailure(original)).build());
        JobMessage.ActorFailed decoded = codec.decodeFailure(received.getFailure());

        // Throwables have no value equality: compare every field the report carries.
        assertEquals(original.actor(), decoded.actor());
        ActionFailedException remote = assertInstanceOf(ActionFailedException.class, decoded.error());
        assertEquals(error.actor(), remote.actor());
        assertEquals(error.op(), remote.op());
        assertEquals(error.device(), remote.device());
        assertEquals(error.microBatch(), remote.microBatch());
        assertEquals(error.iteration(), remote.iteration());
        assertEquals(error.getMessage(), remote.getMessage());
    }

    @Test
    void shouldRoundTripFailureOutsideAnActionAsItsText() throws Exception {
        IllegalStateException error = new IllegalStateException("actor 'fc2.matmul' (matmul) on device cpu:1 "
                + "at step 3: input 0 received more registers than its producer's quota");
        JobMessage.ActorFailed original = new JobMessage.ActorFailed(9, error);

        RuntimeEnvelope received = overTheWire(RuntimeEnvelope.newBuilder()
                .setFailure(codec.encodeFailure(original)).build());
        JobMessage.ActorFailed decoded = codec.decodeFailure(received.getFailure());

        assertEquals(9, decoded.actor());
        assertInstanceOf(RemoteFailure.class, decoded.error());
        assertEquals(error.toString(), decoded.error().toString());
        assertEquals(-1, received.getFailure().getIteration());
    }
}
