package dev.tessera.runtime;

import dev.tessera.runtime.plan.ActorKind;
import dev.tessera.runtime.plan.ActorSpec;
import dev.tessera.runtime.plan.Plan;
import dev.tessera.runtime.trace.Trace;
import dev.tessera.runtime.plan.Device;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * One run: spawns an actor per plan actor on its device's dispatcher, starts them, and stops
 * (stopping them) when every actor finished or the first one failed. The outcome is read by
 * {@link ActorRuntime} once this actor and its children terminated ({@link Runs} watches it).
 *
 * <p>When the plan has action orders, it gives each ordered device one {@link DeviceCursor}
 * shared by that device's actors, and looks for a deadlock every {@link #DEADLOCK_CHECK_PERIOD}
 * ({@link DeadlockDetector}); a deadlock fails the run with a {@link DeadlockException}. A plan
 * without orders runs exactly as before: no cursor, no timer, no probe.
 */
final class Job extends AbstractBehavior<JobMessage> {
    /** How often a run with action orders looks for a deadlock; a found one is confirmed at once. */
    static final Duration DEADLOCK_CHECK_PERIOD = Duration.ofMillis(20);

    /** Written by the job only; read after it terminated (the termination signal publishes it). */
    static final class Outcome {
        volatile Throwable failure;
        volatile boolean finished;
        /** When the job told the actors to start, and when the last one finished. */
        volatile long startNanos;
        volatile long endNanos;
    }

    private final Outcome outcome;
    private final int actorCount;
    private int finished;
    /** Null for a plan without action orders. */
    private final DeadlockDetector deadlocks;

    static Behavior<JobMessage> create(Plan plan, List<ActorAction> actions, TensorTransfer transfer,
                                       RunOptions options, Trace trace, RegisterMemory memory,
                                       Outcome outcome) {
        if (plan.orders().isEmpty()) {
            return Behaviors.setup(context -> new Job(context, plan, actions, transfer, options, trace, memory, outcome, null));
        }
        return Behaviors.withTimers(timers -> Behaviors.setup(
                context -> new Job(context, plan, actions, transfer, options, trace, memory, outcome, timers)));
    }

    private Job(ActorContext<JobMessage> context, Plan plan, List<ActorAction> actions, TensorTransfer transfer,
                RunOptions options, Trace trace, RegisterMemory memory, Outcome outcome,
                TimerScheduler<JobMessage> timers) {
        super(context);
        this.outcome = outcome;
        this.actorCount = plan.actors().size();
        List<ActorRef<ActorMessage>> refs = new ArrayList<>(Collections.nCopies(actorCount, null));
        List<ActorRef<ActorMessage>> peers = Collections.unmodifiableList(refs);
        DeviceCursor[] cursors = new DeviceCursor[plan.devices().size()];
        for (Device device : plan.devices()) {
            plan.order(device.index()).ifPresent(order ->
                    cursors[device.index()] = new DeviceCursor(device, order, options.iterations()));
        }
        for (ActorSpec spec : plan.actors()) {
            boolean holdsInputs = spec.kind() == ActorKind.TRANSFER && transfer.aliasesSource();
            Behavior<ActorMessage> behavior = PlanActor.create(plan, spec, actions.get(spec.id()), holdsInputs,
                    context.getSelf(), peers, trace == null ? null : trace.buffer(spec.device()), memory, options,
                    cursors[spec.device()]);
            refs.set(spec.id(), context.spawn(behavior, "actor-" + spec.id(),
                    DeviceDispatchers.selector(spec.device())));
        }
        // Every reference is in place before any actor can receive a message from a peer.
        outcome.startNanos = System.nanoTime();
        for (ActorRef<ActorMessage> ref : refs) {
            ref.tell(ActorMessage.Start.INSTANCE);
        }
        deadlocks = timers == null ? null : new DeadlockDetector(plan, peers);
        if (timers != null) {
            timers.startTimerWithFixedDelay(JobMessage.DeadlockCheck.INSTANCE, DEADLOCK_CHECK_PERIOD);
        }
    }

    @Override
    public Receive<JobMessage> createReceive() {
        return newReceiveBuilder()
                .onMessage(JobMessage.ActorFinished.class, this::onFinished)
                .onMessage(JobMessage.ActorFailed.class, this::onFailed)
                .onMessage(JobMessage.DeadlockCheck.class, check -> {
                    deadlocks.onCheck();
                    return this;
                })
                .onMessage(JobMessage.ProbeReply.class, reply -> {
                    deadlocks.onProbeReply(reply);
                    return this;
                })
                .onMessage(JobMessage.Waiting.class, waiting -> {
                    DeadlockException deadlock = deadlocks.onWaiting(waiting);
                    return deadlock == null ? this : onFailed(new JobMessage.ActorFailed(waiting.actor(), deadlock));
                })
                .build();
    }

    private Behavior<JobMessage> onFinished(JobMessage.ActorFinished message) {
        if (deadlocks != null) {
            deadlocks.onFinished(message);
        }
        if (++finished == actorCount) {
            outcome.endNanos = System.nanoTime();
            outcome.finished = true;
            return Behaviors.stopped();
        }
        return this;
    }

    private Behavior<JobMessage> onFailed(JobMessage.ActorFailed message) {
        if (outcome.failure == null) {
            outcome.failure = message.error();
        }
        // Stopping the job stops every actor of the run.
        return Behaviors.stopped();
    }
}
