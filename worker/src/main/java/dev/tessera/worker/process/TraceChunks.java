package dev.tessera.worker.process;

import dev.tessera.graph.Phase;
import dev.tessera.proto.control.TraceActor;
import dev.tessera.proto.control.TraceEvents;
import dev.tessera.runtime.plan.ActorKind;
import dev.tessera.runtime.plan.ActorSpec;
import dev.tessera.runtime.plan.Device;
import dev.tessera.runtime.trace.ClockOffset;
import dev.tessera.runtime.trace.Trace;
import dev.tessera.runtime.trace.TraceEvent;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A worker's trace on the control channel (tessera_control.proto {@code TraceEvents}): the
 * actions of one run cut into messages of at most {@link #MAX_EVENTS} events and about
 * {@link #MAX_BYTES} bytes, each naming only the actors its events need, so every message stands
 * alone and a frame stays far below {@link ControlFrames#MAX_FRAME_BYTES} however long the run.
 * The coordinator turns them back into {@link TraceEvent}s on its own clock.
 */
public final class TraceChunks {
    /** The most events one message carries. */
    public static final int MAX_EVENTS = 4096;
    /**
     * The most bytes one message is let grow to, counted from above: an event's four packed varints
     * take at most 35 bytes (counted as 40), an actor its names' UTF-8 bytes and 24, the message's
     * own fields 64. Only an actor whose names alone are longer fills a message past it.
     */
    public static final int MAX_BYTES = 256 * 1024;
    private static final int EVENT_BYTES = 40;

    private TraceChunks() {
    }

    /** The recorded actions of {@code trace}, in the order they started, as messages of request {@code request}. */
    public static List<TraceEvents> encode(long request, Trace trace) {
        List<TraceEvents> chunks = new ArrayList<>();
        TraceEvents.Builder chunk = null;
        Map<Integer, Integer> position = new HashMap<>();
        long previousStart = 0;
        long bytes = 0;
        for (TraceEvent event : trace.events()) {
            ActorSpec actor = event.actor();
            long cost = EVENT_BYTES + (position.containsKey(actor.id()) ? 0 : actorBytes(actor));
            if (chunk != null && (chunk.getActorCount() == MAX_EVENTS || bytes + cost > MAX_BYTES)) {
                chunks.add(chunk.build());
                chunk = null;
            }
            if (chunk == null) {
                chunk = TraceEvents.newBuilder().setRequest(request);
                position.clear();
                previousStart = 0;
                bytes = 64;
                cost = EVENT_BYTES + actorBytes(actor);
            }
            Integer at = position.get(actor.id());
            if (at == null) {
                at = position.size();
                position.put(actor.id(), at);
                chunk.addActors(TraceActor.newBuilder().setName(actor.name()).setOp(actor.op())
                        .setDevice(event.device().index())
                        .setKind(dev.tessera.proto.plan.ActorKind.valueOf(actor.kind().name()))
                        .setPhase(actor.phase().map(p -> dev.tessera.proto.graph.Phase.valueOf(p.name()))
                                .orElse(dev.tessera.proto.graph.Phase.PHASE_UNSPECIFIED)));
            }
            chunk.addActor(at).addStep(event.step()).addStartDelta(event.startNanos() - previousStart)
                    .addDuration(event.durationNanos());
            previousStart = event.startNanos();
            bytes += cost;
        }
        if (chunk != null) {
            chunks.add(chunk.build());
        }
        return chunks;
    }

    private static long actorBytes(ActorSpec actor) {
        return 24 + 3L * (actor.name().length() + actor.op().length());
    }

    /**
     * The events of one message, their times moved onto the reader's clock.
     *
     * @param devices      the plan's devices, by plan index
     * @param microBatches per iteration, to split each event's step
     * @param clock        the sender's clock relative to the reader's
     * @throws IllegalArgumentException when the message's columns differ in length, or it names an
     *     actor or device it does not carry
     */
    public static List<TraceEvent> decode(TraceEvents chunk, List<Device> devices, int microBatches,
                                          ClockOffset clock) {
        int count = chunk.getActorCount();
        if (chunk.getStepCount() != count || chunk.getStartDeltaCount() != count || chunk.getDurationCount() != count) {
            throw new IllegalArgumentException("a trace message of request " + chunk.getRequest() + " has columns of "
                    + count + ", " + chunk.getStepCount() + ", " + chunk.getStartDeltaCount() + " and "
                    + chunk.getDurationCount() + " events; they must be equal");
        }
        List<ActorSpec> actors = new ArrayList<>(chunk.getActorsCount());
        for (TraceActor actor : chunk.getActorsList()) {
            if (actor.getDevice() < 0 || actor.getDevice() >= devices.size()) {
                throw new IllegalArgumentException("the traced actor '" + actor.getName() + "' names device "
                        + actor.getDevice() + " of a plan of " + devices.size() + " devices");
            }
            Optional<Phase> phase = actor.getPhase() == dev.tessera.proto.graph.Phase.PHASE_UNSPECIFIED
                    ? Optional.empty() : Optional.of(Phase.valueOf(actor.getPhase().name()));
            actors.add(new ActorSpec(actors.size(), actor.getName(), actor.getOp(), actor.getDevice(), phase,
                    ActorKind.valueOf(actor.getKind().name()), List.of(), List.of(), List.of(), List.of()));
        }
        List<TraceEvent> events = new ArrayList<>(count);
        long start = 0;
        for (int i = 0; i < count; i++) {
            int at = chunk.getActor(i);
            if (at < 0 || at >= actors.size()) {
                throw new IllegalArgumentException("a trace message of request " + chunk.getRequest() + " names actor "
                        + at + " of " + actors.size());
            }
            ActorSpec actor = actors.get(at);
            start += chunk.getStartDelta(i);
            long step = chunk.getStep(i);
            long localStart = clock.toLocal(start);
            events.add(new TraceEvent(devices.get(actor.device()), actor, (int) (step % microBatches),
                    step / microBatches, step, localStart, localStart + chunk.getDuration(i)));
        }
        return events;
    }
}
