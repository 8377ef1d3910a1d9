package dev.tessera.runtime;

import dev.tessera.runtime.plan.ActionOrder;
import dev.tessera.runtime.plan.ActorKind;
import dev.tessera.runtime.plan.ActorSpec;
import dev.tessera.runtime.plan.Device;
import dev.tessera.runtime.plan.Plan;
import dev.tessera.runtime.trace.Trace;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.typed.ActorSystem;

/**
 * Runs {@link Plan}s on Pekko Typed actors: one single-threaded dispatcher per device, one actor
 * per plan actor, one actor system for the runtime's life. The system starts with the first run
 * and is kept for the next ones (starting and ending one took 50-80 ms on the 2-core build
 * machine, several percent of a chunk of training steps); a run is a child of the system's
 * guardian, and its future completes once that child and every actor of the run stopped, so
 * nothing of a run acts after its future completed. One run at a time: a run started while
 * another is active is refused. {@link #close} ends the system and its threads; a plan with
 * other devices, or options with another dispatcher throughput, gets a fresh system.
 */
public final class ActorRuntime implements AutoCloseable {
    private static final AtomicLong RUNTIMES = new AtomicLong();
    /** How long {@link #close} waits for the actor system's threads to end. */
    private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(10);

    private final TensorTransfer transfer;
    private ActorSystem<Runs.Message> system;
    /** What {@link #system} was configured for: the device indices and the dispatcher throughput. */
    private List<Integer> systemDevices;
    private int systemThroughput;
    private long runCount;
    /** The future of the latest run; volatile, as the system's termination callback reads it. */
    private volatile CompletableFuture<RunResult> active;
    private boolean closed;

    public ActorRuntime(TensorTransfer transfer) {
        this.transfer = transfer;
    }

    /** A runtime whose devices share this JVM's memory. */
    public static ActorRuntime inProcess() {
        return new ActorRuntime(new InProcessTransfer());
    }

    /**
     * Starts a run. The future completes after every actor of the run stopped: with the result,
     * or exceptionally with the first failure, an {@link ActionFailedException} naming the op,
     * device, micro-batch and iteration when an action threw, or a {@link DeadlockException}
     * naming each stuck device's next action and what it waits for when the plan's action
     * orders cannot progress.
     *
     * @throws IllegalArgumentException when the plan's action orders list another number of
     *     micro-batches than {@code options}
     * @throws IllegalStateException when another run of this runtime has not ended, or the
     *     runtime was closed
     * @throws RuntimeException what {@code actions} throws while creating an action
     */
    public synchronized CompletableFuture<RunResult> start(Plan plan, ActionFactory actions, RunOptions options) {
        for (ActionOrder order : plan.orders()) {
            if (order.microBatches() != options.microBatches()) {
                throw new IllegalArgumentException("the action order of device " + plan.devices().get(order.device())
                        .name() + " lists " + order.microBatches() + " micro-batches but the run has "
                        + options.microBatches() + "; run as many micro-batches as the plan's orders list");
            }
        }
        if (closed) {
            throw new IllegalStateException("the actor runtime was closed; create another one to run a plan");
        }
        if (active != null && !active.isDone()) {
            throw new IllegalStateException("another run of this actor runtime has not ended; "
                    + "wait for its future before starting the next");
        }
        List<ActorAction> created = new ArrayList<>(plan.actors().size());
        for (ActorSpec spec : plan.actors()) {
            created.add(spec.kind() == ActorKind.TRANSFER
                    ? new TransferAction(transfer, plan.deviceOf(plan.actor(spec.inputs().get(0).producer())),
                            plan.deviceOf(spec))
                    : actions.create(spec));
        }
        ActorSystem<Runs.Message> runs = system(plan.devices(), options.throughput());
        long origin = System.nanoTime();
        Trace trace = options.trace() ? new Trace(plan, options.microBatches(), options.steps(), origin) : null;
        Job.Outcome outcome = new Job.Outcome();
        RegisterMemory memory = new RegisterMemory(plan.devices().size());
        CompletableFuture<RunResult> result = new CompletableFuture<>();
        Runnable onEnd = () -> {
            long wall = System.nanoTime() - origin;
            if (outcome.failure != null) {
                result.completeExceptionally(outcome.failure);
            } else if (!outcome.finished) {
                result.completeExceptionally(new IllegalStateException(
                        "the job of the run stopped before every actor finished"));
            } else {
                long actionCount = options.steps() * plan.actors().size();
                result.complete(new RunResult(actionCount, wall, outcome.endNanos - outcome.startNanos,
                        Optional.ofNullable(trace), memory.peaks()));
            }
        };
        active = result;
        runs.tell(new Runs.Launch(Job.create(plan, created, transfer, options, trace, memory, outcome),
                "run-" + (++runCount), onEnd));
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

    /** Prefix of the names of every thread of the runtimes' actor systems, e.g. for leak checks. */
    public static String threadNamePrefix() {
        return "tessera-run-";
    }

    /** The actor system for these devices and this throughput, started (or started again) when needed. */
    private ActorSystem<Runs.Message> system(List<Device> devices, int throughput) {
        List<Integer> indices = devices.stream().map(Device::index).toList();
        if (system != null && (!indices.equals(systemDevices) || throughput != systemThroughput)) {
            terminate();
        }
        if (system == null) {
            system = ActorSystem.create(Runs.create(), threadNamePrefix() + RUNTIMES.incrementAndGet(),
                    DeviceDispatchers.config(devices, throughput));
            // A system that ends under a run (closed meanwhile, or failed) must not leave the run's caller waiting.
            system.getWhenTerminated().whenComplete((done, error) -> {
                CompletableFuture<RunResult> run = active;
                if (run != null) {
                    run.completeExceptionally(new IllegalStateException("the actor system ended during the run", error));
                }
            });
            systemDevices = indices;
            systemThroughput = throughput;
        }
        return system;
    }

    /** Ends the actor system and waits for its threads; a run still active fails. Idempotent. */
    @Override
    public synchronized void close() {
        closed = true;
        terminate();
    }

    private void terminate() {
        if (system == null) {
            return;
        }
        ActorSystem<Runs.Message> ending = system;
        system = null;
        ending.terminate();
        try {
            ending.getWhenTerminated().toCompletableFuture().get(CLOSE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException interrupted) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException failure) {
            throw new IllegalStateException("the actor system did not end within " + CLOSE_TIMEOUT.toSeconds()
                    + " s: an action is still running on a device thread", failure);
        }
    }
}
