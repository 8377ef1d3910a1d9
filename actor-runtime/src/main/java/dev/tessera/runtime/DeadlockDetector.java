package dev.tessera.runtime;

import dev.tessera.runtime.DeadlockException.BlockedAction;
import dev.tessera.runtime.plan.Plan;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * Tells a deadlocked run from a slow one, for the {@link Job} of a plan with action orders, by
 * counting messages in waves (Mattern's four counters). Each wave asks every live actor how many
 * messages it sent to and received from other actors; a finished actor's final counts stand in
 * for it. When two consecutive waves return the same counts for every actor and the sent total
 * equals the received total, then at the moment the second wave started every actor was idle
 * (an actor handles one message at a time and, after each, acts as long as it can) and no
 * message was in flight: nothing can ever happen again. Actors with actions left then wait
 * forever, and the detector asks them what they wait for. A run that only computes slowly never
 * passes the test, because a running action answers only after it finished and sent its messages.
 *
 * <p>Used on the job's thread only. Waves start on the job's timer; a wave that finds the totals
 * equal is confirmed at once by the next one, so a deadlock is reported within about one timer
 * period. An action that never returns (a kernel blocked on a peer) stops the waves; the caller's
 * own time-out stays the last resort for that.
 */
final class DeadlockDetector {
    private final Plan plan;
    private final List<ActorRef<ActorMessage>> actors;
    private final boolean[] finished;
    private final long[] finalSent;
    private final long[] finalReceived;
    private final long[] sent;
    private final long[] received;
    private final boolean[] answered;
    private long[] previousSent;
    private long[] previousReceived;
    private int wave;
    private int awaiting;
    private boolean waveRunning;
    /** After a deadlock was found: the answers of the live actors, null until then. */
    private List<BlockedAction> blocked;
    private int explanationsAwaited;

    DeadlockDetector(Plan plan, List<ActorRef<ActorMessage>> actors) {
        this.plan = plan;
        this.actors = actors;
        int count = plan.actors().size();
        finished = new boolean[count];
        finalSent = new long[count];
        finalReceived = new long[count];
        sent = new long[count];
        received = new long[count];
        answered = new boolean[count];
    }

    /** The timer fired: start a wave unless one is running or a deadlock is being explained. */
    void onCheck() {
        if (!waveRunning && blocked == null) {
            startWave();
        }
    }

    /** An actor finished; its final counts stand in for it in every later wave. */
    void onFinished(JobMessage.ActorFinished message) {
        int actor = message.actor();
        finished[actor] = true;
        finalSent[actor] = message.sent();
        finalReceived[actor] = message.received();
        if (blocked != null) {
            // Cannot happen in a real deadlock. Its explanation never comes, so no deadlock is
            // reported and the run ends as its actors finish.
            return;
        }
        if (waveRunning && !answered[actor]) {
            record(actor, message.sent(), message.received());
        }
    }

    void onProbeReply(JobMessage.ProbeReply reply) {
        if (waveRunning && reply.wave() == wave && !answered[reply.actor()]) {
            record(reply.actor(), reply.sent(), reply.received());
        }
    }

    /** An actor said what it waits for; returns the deadlock once every explanation is in, else null. */
    DeadlockException onWaiting(JobMessage.Waiting waiting) {
        return blocked == null ? null : answerExplanation(waiting.blocked());
    }

    private void startWave() {
        wave++;
        waveRunning = true;
        awaiting = 0;
        for (int actor = 0; actor < finished.length; actor++) {
            if (finished[actor]) {
                answered[actor] = true;
                sent[actor] = finalSent[actor];
                received[actor] = finalReceived[actor];
            } else {
                answered[actor] = false;
                awaiting++;
            }
        }
        for (int actor = 0; actor < finished.length; actor++) {
            if (!finished[actor]) {
                actors.get(actor).tell(new ActorMessage.Probe(wave));
            }
        }
        if (awaiting == 0) {
            waveRunning = false;
        }
    }

    private void record(int actor, long actorSent, long actorReceived) {
        answered[actor] = true;
        sent[actor] = actorSent;
        received[actor] = actorReceived;
        if (--awaiting == 0) {
            endWave();
        }
    }

    private void endWave() {
        waveRunning = false;
        long totalSent = Arrays.stream(sent).sum();
        long totalReceived = Arrays.stream(received).sum();
        boolean quiet = totalSent == totalReceived;
        if (quiet && Arrays.equals(sent, previousSent) && Arrays.equals(received, previousReceived)) {
            explain();
            return;
        }
        previousSent = sent.clone();
        previousReceived = received.clone();
        if (quiet) {
            startWave();
        }
    }

    private void explain() {
        blocked = new ArrayList<>();
        for (int actor = 0; actor < finished.length; actor++) {
            if (!finished[actor]) {
                explanationsAwaited++;
                actors.get(actor).tell(ActorMessage.ExplainWait.INSTANCE);
            }
        }
    }

    private DeadlockException answerExplanation(BlockedAction action) {
        if (action != null) {
            blocked.add(action);
        }
        if (--explanationsAwaited > 0) {
            return null;
        }
        List<BlockedAction> ordered = blocked.stream().filter(BlockedAction::ordered).toList();
        List<BlockedAction> shown = new ArrayList<>(ordered.isEmpty() ? blocked : ordered);
        shown.sort(Comparator.comparingInt((BlockedAction a) -> deviceIndex(a.device())).thenComparing(BlockedAction::actor));
        return new DeadlockException(shown);
    }

    private int deviceIndex(String name) {
        for (int d = 0; d < plan.devices().size(); d++) {
            if (plan.devices().get(d).name().equals(name)) {
                return d;
            }
        }
        return Integer.MAX_VALUE;
    }
}
