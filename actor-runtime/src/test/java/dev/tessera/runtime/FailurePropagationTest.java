package dev.tessera.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.tessera.graph.Phase;
import dev.tessera.runtime.plan.ActorKind;
import dev.tessera.runtime.plan.ActorSpec;
import dev.tessera.runtime.plan.Device;
import dev.tessera.runtime.plan.Plan;
import dev.tessera.runtime.plan.PlanBuilder;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 120, unit = TimeUnit.SECONDS)
class FailurePropagationTest {
    /** Every runtime a test starts, closed after it (a runtime keeps its actor system until closed). */
    private final RuntimeCloser runtimes = new RuntimeCloser();

    @AfterEach
    void closeRuntimes() {
        runtimes.closeAll();
    }

    private static final int PLANS = 40;

    @Test
    void shouldNameOpDeviceMicroBatchAndIterationOfAFailedAction() {
        PlanBuilder builder = new PlanBuilder();
        int cpu0 = builder.device("cpu:0");
        int cpu1 = builder.device("cpu:1");
        int data = builder.actor("data", "Source", cpu0).kind(ActorKind.SOURCE).output(2).add();
        int transfer = builder.actor("to-cpu1", "Transfer", cpu1).kind(ActorKind.TRANSFER).input(data, 0).output(2).add();
        int matmul = builder.actor("layer1.matmul", "MatMul", cpu1).phase(Phase.FORWARD).input(transfer, 0).output(1).add();
        builder.actor("loss", "Loss", cpu1).kind(ActorKind.SINK).input(matmul, 0).add();

        ActionFailedException error = assertThrows(ActionFailedException.class, () -> runtimes.add(ActorRuntime.inProcess()).run(
                builder.build(), spec -> context -> {
                    if (spec.id() == matmul && context.iteration() == 1 && context.microBatch() == 2) {
                        throw new IllegalArgumentException("inner dimensions 3 and 4 differ");
                    }
                }, RunOptions.of(3, 4)));

        assertEquals("op MatMul (actor 'layer1.matmul') failed on device cpu:1 at micro-batch 2 of iteration 1: "
                + "java.lang.IllegalArgumentException: inner dimensions 3 and 4 differ", error.getMessage());
        assertEquals("MatMul", error.op());
        assertEquals("cpu:1", error.device());
        assertEquals(2, error.microBatch());
        assertEquals(1, error.iteration());
        assertInstanceOf(IllegalArgumentException.class, error.getCause());
    }

    @Test
    void shouldFailTheJobWhenATransferFails() {
        PlanBuilder builder = new PlanBuilder();
        int cpu0 = builder.device("cpu:0");
        int cpu1 = builder.device("cpu:1");
        int data = builder.actor("data", "Source", cpu0).kind(ActorKind.SOURCE).output(1).add();
        int transfer = builder.actor("to-cpu1", "Transfer", cpu1).kind(ActorKind.TRANSFER).input(data, 0).output(1).add();
        builder.actor("loss", "Loss", cpu1).kind(ActorKind.SINK).input(transfer, 0).add();
        TensorTransfer broken = new TensorTransfer() {
            @Override
            public Object transfer(Object source, Object destination, Device from, Device to) {
                throw new IllegalStateException("link from " + from.name() + " to " + to.name() + " is down");
            }

            @Override
            public boolean aliasesSource() {
                return false;
            }
        };

        ActionFailedException error = assertThrows(ActionFailedException.class, () -> runtimes.add(new ActorRuntime(broken)).run(
                builder.build(), spec -> context -> { }, RunOptions.of(1, 2)));

        assertEquals("Transfer", error.op());
        assertTrue(error.getMessage().endsWith("link from cpu:0 to cpu:1 is down"), error.getMessage());
    }

    @Test
    void shouldFailTheJobWhenCreatingAPayloadFails() {
        PlanBuilder builder = new PlanBuilder();
        int cpu = builder.device("cpu:0");
        int data = builder.actor("data", "Source", cpu).kind(ActorKind.SOURCE).output(1).add();
        builder.actor("loss", "Loss", cpu).kind(ActorKind.SINK).input(data, 0).add();

        ActionFailedException error = assertThrows(ActionFailedException.class, () -> runtimes.add(ActorRuntime.inProcess()).run(
                builder.build(), spec -> new ActorAction() {
                    @Override
                    public Object createPayload(int output, int register) {
                        throw new OutOfMemoryError("no room for a 4 GiB buffer");
                    }

                    @Override
                    public void act(ActionContext context) {
                    }
                }, RunOptions.of(1, 1)));

        assertEquals("Source", error.op());
    }

    /**
     * A failed run's future completes only once every action of the run has returned: a slow
     * action on another device, started before the failure, has finished by then, and no action
     * of the run starts afterwards.
     */
    @Test
    void shouldEndAFailedRunOnlyAfterEveryActionOfItReturned() throws InterruptedException {
        PlanBuilder builder = new PlanBuilder();
        int cpu0 = builder.device("cpu:0");
        int cpu1 = builder.device("cpu:1");
        int slow = builder.actor("slow", "Source", cpu0).kind(ActorKind.SOURCE).output(1).add();
        builder.actor("slow-sink", "Sink", cpu0).kind(ActorKind.SINK).input(slow, 0).add();
        int failing = builder.actor("failing", "Source", cpu1).kind(ActorKind.SOURCE).output(1).add();
        builder.actor("failing-sink", "Sink", cpu1).kind(ActorKind.SINK).input(failing, 0).add();
        CountDownLatch slowStarted = new CountDownLatch(1);
        AtomicLong running = new AtomicLong();
        AtomicLong slowReturned = new AtomicLong();
        ActorRuntime runtime = runtimes.add(ActorRuntime.inProcess());

        CompletableFuture<RunResult> run = runtime.start(builder.build(), spec -> context -> {
            running.incrementAndGet();
            try {
                if (spec.id() == slow) {
                    slowStarted.countDown();
                    Thread.sleep(300);
                    slowReturned.incrementAndGet();
                } else if (spec.id() == failing) {
                    slowStarted.await();
                    throw new IllegalStateException("planted failure");
                }
            } finally {
                running.decrementAndGet();
            }
        }, RunOptions.of(5, 1));

        ExecutionException failure = assertThrows(ExecutionException.class, () -> run.get(20, TimeUnit.SECONDS));
        assertInstanceOf(ActionFailedException.class, failure.getCause());
        assertEquals(1, slowReturned.get(), "the slow action started before the failure had returned");
        assertEquals(0, running.get(), "no action of the run is running once its future completed");
        Thread.sleep(100);
        assertEquals(1, slowReturned.get(), "no action of the failed run started after its future completed");
    }

    /** An action that throws at a random step of a random actor of a random plan always ends the job with that error. */
    @Test
    void shouldAlwaysTerminateWithTheInjectedFailurePromptly() throws InterruptedException {
        ActorRuntime runtime = ActorRuntime.inProcess();
        Random random = new Random(31337L);
        for (int trial = 0; trial < PLANS; trial++) {
            long seed = random.nextLong();
            Random planRandom = new Random(seed);
            Plan plan = RandomPlans.create(planRandom);
            int iterations = 1 + planRandom.nextInt(3);
            int microBatches = 1 + planRandom.nextInt(4);
            List<ActorSpec> candidates = plan.actors().stream().filter(spec -> !RandomPlans.isTransfer(spec)).toList();
            ActorSpec victim = candidates.get(planRandom.nextInt(candidates.size()));
            long failAt = planRandom.nextInt(iterations * microBatches);
            long maxDelayNanos = planRandom.nextBoolean() ? 0 : 200_000;
            AtomicLong actions = new AtomicLong();

            CompletableFuture<RunResult> run = runtime.start(plan, spec -> new CheckingAction(plan, spec,
                    microBatches, seed + spec.id(), maxDelayNanos, spec.id() == victim.id() ? failAt : -1, actions),
                    RunOptions.of(iterations, microBatches));

            try {
                run.get(10, TimeUnit.SECONDS);
                fail("the run succeeded although " + victim.name() + " failed at step " + failAt + "\n" + plan);
            } catch (TimeoutException hang) {
                fail("the run did not stop within 10 s after " + victim.name() + " failed at step " + failAt + "\n" + plan);
            } catch (ExecutionException failure) {
                ActionFailedException error = assertInstanceOf(ActionFailedException.class, failure.getCause());
                assertEquals(victim.name(), error.actor(), "seed " + seed);
                assertEquals(victim.op(), error.op());
                assertEquals(plan.deviceOf(victim).name(), error.device());
                assertEquals(failAt % microBatches, error.microBatch());
                assertEquals(failAt / microBatches, error.iteration());
            }
        }
        runtime.close();
        RuntimeThreads.assertNoneLeft();
    }
}
