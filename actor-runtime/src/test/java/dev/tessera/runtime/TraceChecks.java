package dev.tessera.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.runtime.plan.ActorKind;
import dev.tessera.runtime.plan.ActorSpec;
import dev.tessera.runtime.plan.ConsumerRef;
import dev.tessera.runtime.plan.Plan;
import dev.tessera.runtime.trace.Trace;
import dev.tessera.runtime.trace.TraceEvent;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/** The invariants of a run, checked on its trace. */
final class TraceChecks {
    private final Plan plan;
    private final long steps;
    private final int microBatches;
    /** starts[actor][step] and ends[actor][step] in nanoseconds. */
    private final long[][] starts;
    private final long[][] ends;
    private final List<TraceEvent> events;

    TraceChecks(Trace trace, long steps, int microBatches) {
        this.plan = trace.plan();
        this.steps = steps;
        this.microBatches = microBatches;
        this.events = trace.events();
        starts = new long[plan.actors().size()][(int) steps];
        ends = new long[plan.actors().size()][(int) steps];
        int[][] seen = new int[plan.actors().size()][(int) steps];
        for (TraceEvent event : events) {
            int actor = event.actor().id();
            int step = (int) event.step();
            seen[actor][step]++;
            starts[actor][step] = event.startNanos();
            ends[actor][step] = event.endNanos();
        }
        for (ActorSpec actor : plan.actors()) {
            for (int step = 0; step < steps; step++) {
                assertEquals(1, seen[actor.id()][step], actor.name() + " acted " + seen[actor.id()][step]
                        + " times at step " + step + "\n" + plan);
            }
        }
        assertEquals(steps * plan.actors().size(), events.size(), "recorded actions\n" + plan);
    }

    long start(int actor, long step) {
        return starts[actor][(int) step];
    }

    long end(int actor, long step) {
        return ends[actor][(int) step];
    }

    /**
     * A consumer's action for a step starts after its producers' and control predecessors'
     * ended, and after its iteration predecessors ended the previous iteration.
     */
    void assertDependencyOrder() {
        for (ActorSpec actor : plan.actors()) {
            List<Integer> before = new ArrayList<>(actor.controlPredecessors());
            actor.inputs().forEach(ref -> before.add(ref.producer()));
            for (int predecessor : before) {
                for (int step = 0; step < steps; step++) {
                    assertTrue(start(actor.id(), step) >= end(predecessor, step), actor.name() + " started step "
                            + step + " before " + plan.actor(predecessor).name() + " ended it\n" + plan);
                }
            }
            for (int predecessor : actor.iterationPredecessors()) {
                for (int step = microBatches; step < steps; step++) {
                    long lastOfPreviousIteration = step - step % microBatches - 1;
                    assertTrue(start(actor.id(), step) >= end(predecessor, lastOfPreviousIteration), actor.name()
                            + " started step " + step + " before " + plan.actor(predecessor).name()
                            + " ended the previous iteration\n" + plan);
                }
            }
        }
    }

    /**
     * At most quota pieces of an output are alive: the producer starts step s only after
     * everything holding the piece of step s - quota ended (its consumers, and the consumers of
     * any transfer that handed that piece on).
     */
    void assertQuotasRespected() {
        for (ActorSpec actor : plan.actors()) {
            for (int output = 0; output < actor.outputs().size(); output++) {
                int quota = actor.outputs().get(output).quota();
                List<Integer> holders = holders(actor.id(), output);
                for (int step = quota; step < steps; step++) {
                    for (int holder : holders) {
                        assertTrue(start(actor.id(), step) >= end(holder, step - quota), actor.name() + " output "
                                + output + " started step " + step + " while " + plan.actor(holder).name()
                                + " still held step " + (step - quota) + " (quota " + quota + ")\n" + plan);
                    }
                }
            }
        }
    }

    private List<Integer> holders(int actor, int output) {
        List<Integer> holders = new ArrayList<>();
        for (ConsumerRef consumer : plan.consumers(actor, output)) {
            holders.add(consumer.consumer());
            if (plan.actor(consumer.consumer()).kind() == ActorKind.TRANSFER) {
                holders.addAll(holders(consumer.consumer(), 0));
            }
        }
        return holders;
    }

    /** Two actions of one device never overlap: each device runs on one thread. */
    void assertDevicesRunOneActionAtATime() {
        for (int device = 0; device < plan.devices().size(); device++) {
            int index = device;
            List<TraceEvent> onDevice = new ArrayList<>(events.stream()
                    .filter(event -> event.device().index() == index).toList());
            onDevice.sort(Comparator.comparingLong(TraceEvent::startNanos));
            for (int i = 1; i < onDevice.size(); i++) {
                assertTrue(onDevice.get(i).startNanos() >= onDevice.get(i - 1).endNanos(),
                        "two actions overlap on " + plan.devices().get(device).name() + ": "
                                + onDevice.get(i - 1) + " and " + onDevice.get(i));
            }
        }
    }
}
