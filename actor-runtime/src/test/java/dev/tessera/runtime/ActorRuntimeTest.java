package dev.tessera.runtime;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.graph.Phase;
import dev.tessera.runtime.plan.ActorKind;
import dev.tessera.runtime.plan.Device;
import dev.tessera.runtime.plan.Plan;
import dev.tessera.runtime.plan.PlanBuilder;
import dev.tessera.runtime.trace.Trace;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ActorRuntimeTest {
    private final ActorRuntime runtime = ActorRuntime.inProcess();

    @AfterEach
    void closeRuntime() {
        runtime.close();
    }

    @Test
    void shouldRunEveryActorOncePerMicroBatchOfEveryIteration() throws InterruptedException {
        PlanBuilder builder = new PlanBuilder();
        int cpu = builder.device("cpu:0");
        int data = builder.actor("data", "Source", cpu).kind(ActorKind.SOURCE).output(2).add();
        int matmul = builder.actor("matmul", "MatMul", cpu).phase(Phase.FORWARD).input(data, 0).output(1).add();
        builder.actor("loss", "Loss", cpu).kind(ActorKind.SINK).input(matmul, 0).input(data, 0).add();
        Plan plan = builder.build();
        AtomicLong actions = new AtomicLong();

        RunResult result = runtime.run(plan, spec -> new CheckingAction(plan, spec, 4, spec.id(), 0, -1, actions),
                RunOptions.of(3, 4).withTrace(true));

        assertEquals(3 * 4 * 3, result.actions());
        assertEquals(3 * 4 * 3, actions.get());
        new TraceChecks(result.trace().orElseThrow(), 12, 4).assertDependencyOrder();
    }

    @Test
    void shouldMeasureThePeakBytesOfRegistersInUsePerDevice() throws InterruptedException {
        // data (64 B) -> square (32 B) -> sink on cpu:0, and a 1000 B source feeding a sink on cpu:1;
        // quota 1 everywhere: at most one register of each output is in use at a time
        PlanBuilder builder = new PlanBuilder();
        int cpu0 = builder.device("cpu:0");
        int cpu1 = builder.device("cpu:1");
        int data = builder.actor("data", "Source", cpu0).kind(ActorKind.SOURCE).output(1, 64).add();
        int square = builder.actor("square", "Square", cpu0).phase(Phase.FORWARD).input(data, 0).output(1, 32).add();
        builder.actor("sink", "Sink", cpu0).kind(ActorKind.SINK).input(square, 0).add();
        int other = builder.actor("other", "Source", cpu1).kind(ActorKind.SOURCE).output(1, 1000).add();
        builder.actor("other-sink", "Sink", cpu1).kind(ActorKind.SINK).input(other, 0).add();

        RunResult result = runtime.run(builder.build(), spec -> context -> { }, RunOptions.of(2, 3));

        assertArrayEquals(new long[] {96, 1000}, result.peakRegisterBytes(),
                "square's register and the data it reads are in use together");
    }

    @Test
    void shouldPassMicroBatchAndIterationToActionsInOrder() throws InterruptedException {
        PlanBuilder builder = new PlanBuilder();
        int cpu = builder.device("cpu:0");
        int data = builder.actor("data", "Source", cpu).kind(ActorKind.SOURCE).output(3).add();
        builder.actor("sink", "Sink", cpu).kind(ActorKind.SINK).input(data, 0).add();
        List<String> seen = new CopyOnWriteArrayList<>();

        runtime.run(builder.build(), spec -> context -> {
            if (spec.kind() == ActorKind.SINK) {
                seen.add(context.iteration() + "/" + context.microBatch());
            }
        }, RunOptions.of(2, 3));

        assertEquals(List.of("0/0", "0/1", "0/2", "1/0", "1/1", "1/2"), seen);
    }

    @Test
    void shouldHandOverPayloadAcrossDevicesWithoutCopying() throws InterruptedException {
        PlanBuilder builder = new PlanBuilder();
        int cpu0 = builder.device("cpu:0");
        int cpu1 = builder.device("cpu:1");
        int data = builder.actor("data", "Source", cpu0).kind(ActorKind.SOURCE).output(1).add();
        int transfer = builder.actor("to-cpu1", "Transfer", cpu1).kind(ActorKind.TRANSFER).input(data, 0).output(1).add();
        builder.actor("sink", "Sink", cpu1).kind(ActorKind.SINK).input(transfer, 0).add();
        Object buffer = new Object();
        List<Object> received = new CopyOnWriteArrayList<>();

        runtime.run(builder.build(), spec -> new ActorAction() {
            @Override
            public Object createPayload(int output, int register) {
                return buffer;
            }

            @Override
            public void act(ActionContext context) {
                if (spec.kind() == ActorKind.SINK) {
                    received.add(context.input(0));
                }
            }
        }, RunOptions.of(1, 3));

        assertEquals(3, received.size());
        received.forEach(payload -> assertSame(buffer, payload));
    }

    @Test
    void shouldCopyIntoTheTransferBufferWhenTheTransferDoesNotAlias() throws InterruptedException {
        PlanBuilder builder = new PlanBuilder();
        int cpu0 = builder.device("cpu:0");
        int cpu1 = builder.device("cpu:1");
        int data = builder.actor("data", "Source", cpu0).kind(ActorKind.SOURCE).output(1).add();
        int transfer = builder.actor("to-cpu1", "Transfer", cpu1).kind(ActorKind.TRANSFER).input(data, 0).output(2).add();
        builder.actor("sink", "Sink", cpu1).kind(ActorKind.SINK).input(transfer, 0).add();
        List<long[]> sourceBuffers = new CopyOnWriteArrayList<>();
        List<String> received = new CopyOnWriteArrayList<>();
        TensorTransfer copying = new TensorTransfer() {
            @Override
            public Object transfer(Object source, Object destination, Device from, Device to) {
                ((long[]) destination)[0] = ((long[]) source)[0];
                return destination;
            }

            @Override
            public boolean aliasesSource() {
                return false;
            }

            @Override
            public Object createDestination(Device to) {
                return new long[1];
            }
        };

        try (ActorRuntime copyingRuntime = new ActorRuntime(copying)) {
            copyingRuntime.run(builder.build(), spec -> new ActorAction() {
            @Override
            public Object createPayload(int output, int register) {
                long[] buffer = new long[1];
                sourceBuffers.add(buffer);
                return buffer;
            }

            @Override
            public void act(ActionContext context) {
                if (spec.kind() == ActorKind.SOURCE) {
                    ((long[]) context.output(0))[0] = 100 + context.microBatch();
                } else {
                    long[] piece = (long[]) context.input(0);
                    assertTrue(sourceBuffers.stream().noneMatch(buffer -> buffer == piece),
                            "the sink read the source's buffer");
                    received.add(context.microBatch() + ":" + piece[0]);
                }
            }
        }, RunOptions.of(1, 4));
        }

        assertEquals(List.of("0:100", "1:101", "2:102", "3:103"), received);
    }

    @Test
    void shouldRunControlSuccessorAfterItsPredecessorForEachMicroBatch() throws InterruptedException {
        PlanBuilder builder = new PlanBuilder();
        int cpu = builder.device("cpu:0");
        int data = builder.actor("data", "Source", cpu).kind(ActorKind.SOURCE).output(4).add();
        int weightGrad = builder.actor("w", "MatMulWeightGrad", cpu).phase(Phase.BACKWARD_WEIGHT).input(data, 0).output(4).add();
        // The input gradient is data-ready first, but the schedule says: after the weight gradient.
        int inputGrad = builder.actor("b", "MatMulInputGrad", cpu).phase(Phase.BACKWARD_INPUT).input(data, 0)
                .after(weightGrad).output(4).add();
        builder.actor("sink", "Sink", cpu).kind(ActorKind.SINK).input(inputGrad, 0).input(weightGrad, 0).add();
        Plan plan = builder.build();

        RunResult result = runtime.run(plan, spec -> context -> { }, RunOptions.of(2, 4).withTrace(true));

        TraceChecks checks = new TraceChecks(result.trace().orElseThrow(), 8, 4);
        for (int step = 0; step < 8; step++) {
            assertTrue(checks.start(inputGrad, step) >= checks.end(weightGrad, step), "step " + step);
        }
    }

    @Test
    void shouldStartAnIterationOnlyAfterTheUpdateOfThePreviousOne() throws InterruptedException {
        PlanBuilder builder = new PlanBuilder();
        int cpu0 = builder.device("cpu:0");
        int cpu1 = builder.device("cpu:1");
        // The parameter actor snapshots the weights' version each micro-batch; the update bumps
        // the version after the last micro-batch of an iteration. The next iteration must wait
        // for it, though the update comes later in the dataflow.
        int parameter = builder.actor("w", "Parameter", cpu0).output(3).afterPreviousIteration(5).add();
        int parameterOnCpu1 = builder.actor("w@cpu1", "Transfer", cpu1).kind(ActorKind.TRANSFER)
                .input(parameter, 0).output(3).add();
        int data = builder.actor("data", "Source", cpu1).kind(ActorKind.SOURCE).output(3).add();
        int forward = builder.actor("fc", "MatMul", cpu1).phase(Phase.FORWARD).input(data, 0)
                .input(parameterOnCpu1, 0).output(3).add();
        int forwardOnCpu0 = builder.actor("fc@cpu0", "Transfer", cpu0).kind(ActorKind.TRANSFER)
                .input(forward, 0).output(3).add();
        int update = builder.actor("update", "AdamW", cpu0).phase(Phase.UPDATE).kind(ActorKind.SINK)
                .input(forwardOnCpu0, 0).add();
        assertEquals(5, update);
        long[] version = {0};
        List<String> versionsSeen = new CopyOnWriteArrayList<>();

        runtime.run(builder.build(), spec -> new ActorAction() {
            @Override
            public Object createPayload(int output, int register) {
                return new long[1];
            }

            @Override
            public void act(ActionContext context) throws InterruptedException {
                if (spec.id() == parameter) {
                    ((long[]) context.output(0))[0] = version[0];
                } else if (spec.id() == forward) {
                    versionsSeen.add(context.iteration() + ":" + ((long[]) context.input(1))[0]);
                } else if (spec.id() == update && context.microBatch() == 2) {
                    Thread.sleep(5);
                    version[0]++;
                }
            }
        }, RunOptions.of(3, 3).withTrace(true));

        assertEquals(List.of("0:0", "0:0", "0:0", "1:1", "1:1", "1:1", "2:2", "2:2", "2:2"), versionsSeen);
    }

    @Test
    void shouldLeaveNoThreadRunningOnceTheRuntimeIsClosed() throws InterruptedException {
        Plan plan = RandomPlans.create(new java.util.Random(7));
        AtomicLong actions = new AtomicLong();

        runtime.run(plan, spec -> new CheckingAction(plan, spec, 2, spec.id(), 0, -1, actions),
                RunOptions.of(2, 2));
        runtime.run(plan, spec -> new CheckingAction(plan, spec, 2, spec.id(), 0, -1, actions),
                RunOptions.of(2, 2));
        runtime.close();

        RuntimeThreads.assertNoneLeft();
    }

    @Test
    void shouldRunEveryRunOnTheDeviceThreadsTheFirstRunStarted() throws InterruptedException {
        PlanBuilder builder = new PlanBuilder();
        int cpu0 = builder.device("cpu:0");
        int cpu1 = builder.device("cpu:1");
        int data = builder.actor("data", "Source", cpu0).kind(ActorKind.SOURCE).output(1).add();
        builder.actor("sink", "Sink", cpu0).kind(ActorKind.SINK).input(data, 0).add();
        int other = builder.actor("other", "Source", cpu1).kind(ActorKind.SOURCE).output(1).add();
        builder.actor("other-sink", "Sink", cpu1).kind(ActorKind.SINK).input(other, 0).add();
        Plan plan = builder.build();
        List<Set<Thread>> threadsPerRun = new ArrayList<>();

        for (int run = 0; run < 3; run++) {
            Set<Thread> threads = ConcurrentHashMap.newKeySet();
            runtime.run(plan, spec -> context -> threads.add(Thread.currentThread()), RunOptions.of(2, 2));
            threadsPerRun.add(threads);
            Thread.sleep(200); // the pause of a trainer between chunks of steps: logging, evaluation
        }

        assertEquals(2, threadsPerRun.get(0).size(), "one thread per device");
        assertEquals(threadsPerRun.get(0), threadsPerRun.get(1));
        assertEquals(threadsPerRun.get(0), threadsPerRun.get(2));
    }

    @Test
    void shouldRefuseToStartARunWhileAnotherIsActive() throws Exception {
        PlanBuilder builder = new PlanBuilder();
        int cpu = builder.device("cpu:0");
        int data = builder.actor("data", "Source", cpu).kind(ActorKind.SOURCE).output(1).add();
        builder.actor("sink", "Sink", cpu).kind(ActorKind.SINK).input(data, 0).add();
        Plan plan = builder.build();
        CountDownLatch release = new CountDownLatch(1);

        CompletableFuture<RunResult> first = runtime.start(plan, spec -> context -> {
            if (!release.await(20, TimeUnit.SECONDS)) {
                throw new IllegalStateException("never released");
            }
        }, RunOptions.of(1, 1));
        IllegalStateException refused = assertThrows(IllegalStateException.class,
                () -> runtime.start(plan, spec -> context -> { }, RunOptions.of(1, 1)));
        release.countDown();

        assertTrue(refused.getMessage().contains("another run of this actor runtime has not ended"), refused.getMessage());
        assertEquals(2, first.get(20, TimeUnit.SECONDS).actions());
        assertEquals(2, runtime.run(plan, spec -> context -> { }, RunOptions.of(1, 1)).actions(),
                "a run after the first one ended starts");
    }

    @Test
    void shouldRefuseToRunOnceClosed() {
        runtime.close();

        PlanBuilder builder = new PlanBuilder();
        int cpu = builder.device("cpu:0");
        builder.actor("data", "Source", cpu).kind(ActorKind.SOURCE).output(1).add();
        IllegalStateException refused = assertThrows(IllegalStateException.class,
                () -> runtime.run(builder.build(), spec -> context -> { }, RunOptions.of(1, 1)));
        assertTrue(refused.getMessage().contains("closed"), refused.getMessage());
    }

    @Test
    void shouldSerializeATwoStageChainWithQuotaOne() throws InterruptedException {
        Trace trace = runTwoStageChain(1);
        TraceChecks checks = new TraceChecks(trace, 6, 3);
        for (int step = 1; step < 6; step++) {
            assertTrue(checks.start(0, step) >= checks.end(2, step - 1),
                    "with quota 1 the producer started step " + step + " before the consumer ended step " + (step - 1));
        }
    }

    @Test
    void shouldLetTheProducerRunOneMicroBatchAheadWithQuotaTwo() throws InterruptedException {
        Trace trace = runTwoStageChain(2);
        TraceChecks checks = new TraceChecks(trace, 6, 3);
        int overlaps = 0;
        for (int step = 1; step < 6; step++) {
            if (checks.start(0, step) < checks.end(2, step - 1)) {
                overlaps++;
            }
            if (step >= 2) {
                assertTrue(checks.start(0, step) >= checks.end(2, step - 2),
                        "with quota 2 the producer ran two micro-batches ahead at step " + step);
            }
        }
        assertTrue(overlaps >= 3, "with quota 2 the producer overlapped the consumer only " + overlaps + " times");
    }

    /**
     * producer (cpu:0) -> transfer -> consumer -> sink (cpu:1), both stages sleeping 5 ms, every
     * register quota the same; the consumer is actor 2 and its sink actor 3.
     */
    private Trace runTwoStageChain(int quota) throws InterruptedException {
        PlanBuilder builder = new PlanBuilder();
        int cpu0 = builder.device("cpu:0");
        int cpu1 = builder.device("cpu:1");
        int producer = builder.actor("producer", "Stage0", cpu0).kind(ActorKind.SOURCE).output(quota).add();
        int transfer = builder.actor("transfer", "Transfer", cpu1).kind(ActorKind.TRANSFER).input(producer, 0)
                .output(quota).add();
        int consumer = builder.actor("consumer", "Stage1", cpu1).input(transfer, 0).output(quota).add();
        builder.actor("sink", "Sink", cpu1).kind(ActorKind.SINK).input(consumer, 0).add();
        return runtime.run(builder.build(), spec -> context -> {
            if (spec.id() == producer || spec.id() == consumer) {
                Thread.sleep(5);
            }
        }, RunOptions.of(2, 3).withTrace(true)).trace().orElseThrow();
    }
}
