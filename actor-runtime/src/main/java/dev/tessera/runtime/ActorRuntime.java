package dev.tessera.runtime;

import dev.tessera.runtime.plan.ActionOrder;
import dev.tessera.runtime.plan.ActorKind;
import dev.tessera.runtime.plan.ActorSpec;
import dev.tessera.runtime.plan.Plan;
import dev.tessera.runtime.trace.Trace;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.typed.ActorSystem;

/**
 * Runs a {@link Plan} on Pekko Typed actors: one actor system per run, one single-threaded
 * dispatcher per device, one actor per plan actor. The system is terminated when the run ends,
 * successfully or not, so nothing of a run is left running once its future completed.
 */
public final class ActorRuntime {
    private static final AtomicLong RUNS = new AtomicLong();

    private final TensorTransfer transfer;

    public ActorRuntime(TensorTransfer transfer) {
        this.transfer = transfer;
    }

    /** A runtime whose devices share this JVM's memory. */
    public static ActorRuntime inProcess() {
        return new ActorRuntime(new InProcessTransfer());
    }

    /**
     * Starts a run. The future completes after the actor system terminated: with the result,
     * or exceptionally with the first failure, an {@link ActionFailedException} naming the op,
     * device, micro-batch and iteration when an action threw, or a {@link DeadlockException}
     * naming each stuck device's next action and what it waits for when the plan's action
     * orders cannot progress.
     *
     * @throws IllegalArgumentException when the plan's action orders list another number of
     *     micro-batches than {@code options}
     * @throws RuntimeException what {@code actions} throws while creating an action
     */
    public CompletableFuture<RunResult> start(Plan plan, ActionFactory actions, RunOptions options) {
        for (ActionOrder order : plan.orders()) {
            if (order.microBatches() != options.microBatches()) {
                throw new IllegalArgumentException("the action order of device " + plan.devices().get(order.device())
                        .name() + " lists " + order.microBatches() + " micro-batches but the run has "
                        + options.microBatches() + "; run as many micro-batches as the plan's orders list");
            }
        }
        List<ActorAction> created = new ArrayList<>(plan.actors().size());
        for (ActorSpec spec : plan.actors()) {
            created.add(spec.kind() == ActorKind.TRANSFER
                    ? new TransferAction(transfer, plan.deviceOf(plan.actor(spec.inputs().get(0).producer())),
                            plan.deviceOf(spec))
                    : actions.create(spec));
        }
        long origin = System.nanoTime();
        Trace trace = options.trace() ? new Trace(plan, options.microBatches(), options.steps(), origin) : null;
        Job.Outcome outcome = new Job.Outcome();
        RegisterMemory memory = new RegisterMemory(plan.devices().size());
        ActorSystem<JobMessage> system = ActorSystem.create(
                Job.create(plan, created, transfer, options, trace, memory, outcome),
                systemName(),
                DeviceDispatchers.config(plan.devices(), options.throughput()));
        CompletableFuture<RunResult> result = new CompletableFuture<>();
        system.getWhenTerminated().whenComplete((done, error) -> {
            long wall = System.nanoTime() - origin;
            if (outcome.failure != null) {
                result.completeExceptionally(outcome.failure);
            } else if (error != null) {
                result.completeExceptionally(error);
            } else if (!outcome.finished) {
                result.completeExceptionally(new IllegalStateException(
                        "the actor system of the run ended before every actor finished"));
            } else {
                long actionCount = options.steps() * plan.actors().size();
                result.complete(new RunResult(actionCount, wall, outcome.endNanos - outcome.startNanos,
                        Optional.ofNullable(trace), memory.peaks()));
            }
        });
        return result;
    }

    /**
     * Runs a plan and waits for it.
     *
     * @throws ActionFailedException when an action threw (the job stopped)
     * @throws DeadlockException when the plan's action orders cannot progress
     * @throws IllegalStateException when the runtime itself failed (a protocol error)
     */
    public RunResult run(Plan plan, ActionFactory actions, RunOptions options) throws InterruptedException {
        try {
            return start(plan, actions, options).get();
        } catch (ExecutionException failure) {
            Throwable cause = failure.getCause();
            if (cause instanceof RuntimeException runtime) {
                throw runtime;
            }
            if (cause instanceof Error error) {
                throw error;
            }
            throw new IllegalStateException(cause.getMessage(), cause);
        }
    }

    /** Prefix of the names of every thread of the runs started so far, e.g. for leak checks. */
    public static String threadNamePrefix() {
        return "tessera-run-";
    }

    private static String systemName() {
        return threadNamePrefix() + RUNS.incrementAndGet();
    }
}
