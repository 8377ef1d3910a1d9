package dev.tessera.worker.process;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.graph.Phase;
import dev.tessera.proto.control.TraceEvents;
import dev.tessera.proto.control.WorkerMessage;
import dev.tessera.runtime.plan.ActorKind;
import dev.tessera.runtime.plan.Plan;
import dev.tessera.runtime.plan.PlanBuilder;
import dev.tessera.runtime.trace.ClockOffset;
import dev.tessera.runtime.trace.Trace;
import dev.tessera.runtime.trace.TraceEvent;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TraceChunksTest {
    private static final int MICRO_BATCHES = 3;

    /** Source and a forward op on device 0:0, a transfer and the loss on 0:1 (both long-named if the name is). */
    private static Plan plan(String longName) {
        PlanBuilder builder = new PlanBuilder();
        int cpu0 = builder.device("0:0");
        int cpu1 = builder.device("0:1");
        int data = builder.actor("data", "Source", cpu0).kind(ActorKind.SOURCE).output(2).add();
        int forward = builder.actor(longName, "MatMul", cpu0).phase(Phase.FORWARD).input(data, 0).output(2).add();
        int transfer = builder.actor("to-0:1", "Transfer", cpu1).kind(ActorKind.TRANSFER).input(forward, 0).output(2)
                .add();
        builder.actor(longName.length() > 100 ? longName + "-loss" : "loss", "SoftmaxCrossEntropy", cpu1).phase(Phase.FORWARD).kind(ActorKind.SINK)
                .input(transfer, 0).add();
        return builder.build();
    }

    /** {@code steps} actions of every actor, 1 µs apart, starting at {@code origin}. */
    private static Trace trace(Plan plan, int steps, long origin) {
        Trace trace = new Trace(plan, MICRO_BATCHES, steps, origin);
        long time = origin;
        for (int step = 0; step < steps; step++) {
            for (int actor = 0; actor < plan.actors().size(); actor++) {
                trace.buffer(plan.actor(actor).device()).record(actor, step, time, time + 700 + actor);
                time += 1000;
            }
        }
        return trace;
    }

    @Test
    void shouldCarryEveryEventInBoundedMessagesOntoTheReadersClock() {
        Plan plan = plan("fc1.matmul@0:0");
        long skew = 3_000_000_000L;
        Trace trace = trace(plan, 2500, 80_000_000_000L + skew);

        List<TraceEvents> chunks = TraceChunks.encode(7, trace);

        assertEquals(3, chunks.size(), "10000 events in messages of at most " + TraceChunks.MAX_EVENTS);
        List<TraceEvent> decoded = new ArrayList<>();
        for (TraceEvents chunk : chunks) {
            assertEquals(7, chunk.getRequest());
            assertTrue(chunk.getActorCount() <= TraceChunks.MAX_EVENTS, chunk.getActorCount() + " events");
            int frame = WorkerMessage.newBuilder().setTraceEvents(chunk).build().getSerializedSize();
            assertTrue(frame <= TraceChunks.MAX_BYTES, frame + " bytes");
            decoded.addAll(TraceChunks.decode(chunk, plan.devices(), MICRO_BATCHES, new ClockOffset(skew, 10)));
        }
        List<TraceEvent> expected = trace.events();
        assertEquals(expected.size(), decoded.size());
        for (int i = 0; i < expected.size(); i++) {
            TraceEvent want = expected.get(i);
            TraceEvent got = decoded.get(i);
            assertEquals(want.device(), got.device());
            assertEquals(List.of(want.actor().name(), want.actor().op(), want.actor().kind(), want.actor().phase()),
                    List.of(got.actor().name(), got.actor().op(), got.actor().kind(), got.actor().phase()));
            assertEquals(List.of(want.microBatch(), want.iteration(), want.step()),
                    List.of(got.microBatch(), got.iteration(), got.step()));
            assertEquals(want.startNanos() - skew, got.startNanos(), "start of event " + i);
            assertEquals(want.durationNanos(), got.durationNanos(), "duration of event " + i);
        }
    }

    @Test
    void shouldCutByBytesWhenActorNamesAreLong() {
        Plan plan = plan("x".repeat(50_000));
        List<TraceEvents> chunks = TraceChunks.encode(1, trace(plan, 40, 0));

        assertTrue(chunks.size() > 1, chunks.size() + " messages");
        for (TraceEvents chunk : chunks) {
            int bytes = chunk.getSerializedSize();
            assertTrue(bytes <= TraceChunks.MAX_BYTES, bytes + " bytes");
        }
        assertEquals(160, chunks.stream().mapToInt(TraceEvents::getActorCount).sum());
    }

    @Test
    void shouldRejectAMessageWhoseColumnsDisagree() {
        Plan plan = plan("fc1.matmul@0:0");
        TraceEvents chunk = TraceChunks.encode(4, trace(plan, 1, 0)).get(0).toBuilder().addStep(9).build();

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TraceChunks.decode(chunk, plan.devices(), MICRO_BATCHES, new ClockOffset(0, 0)));
        assertTrue(e.getMessage().contains("request 4 has columns of 4, 5, 4 and 4 events"), e.getMessage());
    }
}
