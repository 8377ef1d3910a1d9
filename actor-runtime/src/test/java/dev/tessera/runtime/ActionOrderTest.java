package dev.tessera.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.graph.Phase;
import dev.tessera.runtime.DeadlockException.BlockedAction;
import dev.tessera.runtime.plan.ActionOrder;
import dev.tessera.runtime.plan.ActorKind;
import dev.tessera.runtime.plan.OrderedAction;
import dev.tessera.runtime.plan.Plan;
import dev.tessera.runtime.plan.PlanBuilder;
import dev.tessera.runtime.trace.TraceEvent;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Devices with an action order run their actors in exactly that order, still waiting for data,
 * free registers and predecessors; an order that cannot progress fails the run with a
 * {@link DeadlockException} naming the device, the next action and what it waits for.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ActionOrderTest {
    private static final int PLANS = 60;
    private final ActorRuntime runtime = ActorRuntime.inProcess();

    @AfterEach
    void closeRuntime() {
        runtime.close();
    }

    @Test
    void shouldRunEveryActionOnceInExactlyTheOrderOfItsDeviceForRandomPlansAndOrders() throws InterruptedException {
        Random random = new Random(20261123L);
        for (int trial = 0; trial < PLANS; trial++) {
            long seed = random.nextLong();
            Random planRandom = new Random(seed);
            int iterations = 1 + planRandom.nextInt(3);
            int microBatches = 1 + planRandom.nextInt(4);
            Plan plan = RandomOrders.withRandomOrders(RandomPlans.create(planRandom), microBatches, 0.75, planRandom);
            long maxDelayNanos = planRandom.nextBoolean() ? 0 : 1 + planRandom.nextInt(200_000);
            AtomicLong actions = new AtomicLong();

            RunResult result = runtime.run(plan,
                    spec -> new CheckingAction(plan, spec, microBatches, seed + spec.id(), maxDelayNanos, -1, actions),
                    RunOptions.of(iterations, microBatches).withTrace(true).withThroughput(1 + planRandom.nextInt(10)));

            String context = "plan with seed " + seed + "\n" + plan;
            long steps = (long) iterations * microBatches;
            TraceChecks checks = new TraceChecks(result.trace().orElseThrow(), steps, microBatches);
            checks.assertDependencyOrder();
            checks.assertQuotasRespected();
            checks.assertDevicesRunOneActionAtATime();
            List<TraceEvent> events = result.trace().orElseThrow().events();
            for (ActionOrder order : plan.orders()) {
                List<String> expected = new ArrayList<>();
                for (int iteration = 0; iteration < iterations; iteration++) {
                    for (OrderedAction action : order.actions()) {
                        expected.add(plan.actor(action.actor()).name() + "/" + action.microBatch() + "@" + iteration);
                    }
                }
                List<String> ran = events.stream().filter(event -> event.device().index() == order.device())
                        .map(event -> event.actor().name() + "/" + event.microBatch() + "@" + event.iteration())
                        .toList();
                assertEquals(expected, ran, "actions of " + plan.devices().get(order.device()).name() + " in " + context);
            }
        }
        runtime.close();
        RuntimeThreads.assertNoneLeft();
    }

    @Test
    void shouldReportAConsumerOrderedBeforeItsProducerAsADeadlockNamingDeviceActionAndInput() {
        PlanBuilder builder = new PlanBuilder();
        int cpu = builder.device("cpu:0");
        int data = builder.actor("data", "Source", cpu).kind(ActorKind.SOURCE).output(1).add();
        int first = builder.actor("fc1", "MatMul", cpu).phase(Phase.FORWARD).input(data, 0).output(1).add();
        int second = builder.actor("fc2", "MatMul", cpu).phase(Phase.FORWARD).input(first, 0).output(1).add();
        int loss = builder.actor("loss", "Loss", cpu).kind(ActorKind.SINK).input(second, 0).add();
        builder.order(cpu, List.of(new OrderedAction(data, 0), new OrderedAction(second, 0),
                new OrderedAction(first, 0), new OrderedAction(loss, 0)));

        DeadlockException error = assertThrows(DeadlockException.class,
                () -> runtime.run(builder.build(), spec -> context -> { }, RunOptions.of(2, 1)));

        assertEquals(List.of(new BlockedAction("cpu:0", true, 1, 4, "fc2", 0, 0,
                List.of("input 0 from 'fc1' on cpu:0, which has not produced this micro-batch yet"))), error.blocked());
        assertTrue(error.getMessage().startsWith("deadlock: no actor can act and no message is in flight"),
                error.getMessage());
        assertTrue(error.getMessage().contains("device cpu:0 is stuck at action 1 of 4 of its order: 'fc2' for "
                + "micro-batch 0 of iteration 0 waits for input 0 from 'fc1'"), error.getMessage());
    }

    @Test
    void shouldReportACycleThroughTheOrdersOfTwoDevicesNamingBothDevices() {
        PlanBuilder builder = new PlanBuilder();
        int cpu0 = builder.device("cpu:0");
        int cpu1 = builder.device("cpu:1");
        int a = builder.actor("a", "Source", cpu0).kind(ActorKind.SOURCE).output(1).add();
        int c = builder.actor("c", "Source", cpu1).kind(ActorKind.SOURCE).output(1).add();
        int aOnCpu1 = builder.actor("a->cpu:1", "Transfer", cpu1).kind(ActorKind.TRANSFER).input(a, 0).output(1).add();
        int cOnCpu0 = builder.actor("c->cpu:0", "Transfer", cpu0).kind(ActorKind.TRANSFER).input(c, 0).output(1).add();
        int b = builder.actor("b", "Loss", cpu1).kind(ActorKind.SINK).input(aOnCpu1, 0).add();
        int d = builder.actor("d", "Loss", cpu0).kind(ActorKind.SINK).input(cOnCpu0, 0).add();
        // each device first waits for what the other device makes only after waiting itself
        builder.order(cpu0, List.of(new OrderedAction(cOnCpu0, 0), new OrderedAction(d, 0), new OrderedAction(a, 0)));
        builder.order(cpu1, List.of(new OrderedAction(aOnCpu1, 0), new OrderedAction(b, 0), new OrderedAction(c, 0)));

        DeadlockException error = assertThrows(DeadlockException.class,
                () -> runtime.run(builder.build(), spec -> context -> { }, RunOptions.of(1, 1)));

        assertEquals(List.of(
                new BlockedAction("cpu:0", true, 0, 3, "c->cpu:0", 0, 0,
                        List.of("input 0 from 'c' on cpu:1, which has not produced this micro-batch yet")),
                new BlockedAction("cpu:1", true, 0, 3, "a->cpu:1", 0, 0,
                        List.of("input 0 from 'a' on cpu:0, which has not produced this micro-batch yet"))),
                error.blocked());
    }

    @Test
    void shouldLetAForwardRunAMicroBatchAheadOfItsBackwardOnlyWithQuotaTwo() throws InterruptedException {
        // GPipe on one device: F0 F1 B0 B1 keeps both activations alive at once
        RunResult withTwo = runtime.run(gpipe(2), spec -> context -> { }, RunOptions.of(2, 2).withTrace(true));
        List<String> ran = withTwo.trace().orElseThrow().events().stream()
                .map(event -> event.actor().name() + event.microBatch()).toList();
        assertEquals(List.of("x0", "x1", "F0", "F1", "B0", "B1", "x0", "x1", "F0", "F1", "B0", "B1"), ran);

        DeadlockException error = assertThrows(DeadlockException.class,
                () -> runtime.run(gpipe(1), spec -> context -> { }, RunOptions.of(2, 2)));

        assertEquals(List.of(new BlockedAction("cpu:0", true, 3, 6, "F", 1, 0,
                List.of("a free register of output 0 (quota 1, every register still held by its consumers 'B')"))),
                error.blocked());
        assertTrue(error.getMessage().contains("raise the quota of an output named above"), error.getMessage());
    }

    @Test
    void shouldNotReportASlowActionAsADeadlock() throws InterruptedException {
        long pauseNanos = 10 * Job.DEADLOCK_CHECK_PERIOD.toNanos();
        RunResult result = runtime.run(gpipe(2), spec -> context -> {
            if (spec.name().equals("B") && context.microBatch() == 0) {
                LockSupport.parkNanos(pauseNanos);
            }
        }, RunOptions.of(1, 2));

        assertEquals(6, result.actions());
    }

    @Test
    void shouldRunUnorderedDevicesAsTheirDataArrivesBesideAnOrderedOne() throws InterruptedException {
        PlanBuilder builder = new PlanBuilder();
        int cpu0 = builder.device("cpu:0");
        int cpu1 = builder.device("cpu:1");
        int x = builder.actor("x", "Source", cpu0).kind(ActorKind.SOURCE).output(2).add();
        int f = builder.actor("F", "Op", cpu0).phase(Phase.FORWARD).input(x, 0).output(2).add();
        int moved = builder.actor("F->cpu:1", "Transfer", cpu1).kind(ActorKind.TRANSFER).input(f, 0).output(2).add();
        builder.actor("loss", "Loss", cpu1).kind(ActorKind.SINK).input(moved, 0).add();
        builder.order(cpu0, List.of(new OrderedAction(x, 0), new OrderedAction(x, 1), new OrderedAction(f, 0),
                new OrderedAction(f, 1)));
        Plan plan = builder.build();

        RunResult result = runtime.run(plan, spec -> context -> { }, RunOptions.of(3, 2));

        assertEquals(24, result.actions());
        assertTrue(plan.order(cpu1).isEmpty());
        assertFalse(plan.order(cpu0).isEmpty());
    }

    @Test
    void shouldRefuseARunWithOtherMicroBatchesThanItsOrders() {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                () -> runtime.run(gpipe(2), spec -> context -> { }, RunOptions.of(1, 3)));

        assertEquals("the action order of device cpu:0 lists 2 micro-batches but the run has 3; run as many "
                + "micro-batches as the plan's orders list", error.getMessage());
    }

    /** One device: source x, forward F, backward B reading F's output, in the order x0 x1 F0 F1 B0 B1. */
    private static Plan gpipe(int forwardQuota) {
        PlanBuilder builder = new PlanBuilder();
        int cpu = builder.device("cpu:0");
        int x = builder.actor("x", "Source", cpu).kind(ActorKind.SOURCE).output(2).add();
        int f = builder.actor("F", "Op", cpu).phase(Phase.FORWARD).input(x, 0).output(forwardQuota).add();
        int b = builder.actor("B", "Loss", cpu).kind(ActorKind.SINK).input(f, 0).add();
        builder.order(cpu, List.of(new OrderedAction(x, 0), new OrderedAction(x, 1), new OrderedAction(f, 0),
                new OrderedAction(f, 1), new OrderedAction(b, 0), new OrderedAction(b, 1)));
        return builder.build();
    }
}
