package dev.tessera.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.tessera.graph.Phase;
import dev.tessera.runtime.plan.ActorKind;
import dev.tessera.runtime.plan.Device;
import dev.tessera.runtime.plan.OrderedAction;
import dev.tessera.runtime.plan.Plan;
import dev.tessera.runtime.plan.PlanBuilder;
import dev.tessera.runtime.transport.ElementType;
import dev.tessera.runtime.transport.InProcessTransport;
import dev.tessera.runtime.transport.TensorBuffer;
import dev.tessera.runtime.transport.TransportException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Asynchronous actions, as collective members use them: started when the actor can act, their
 * work continued on the device's thread through the context's executor, published when they
 * complete, their failures the job's, and a long wait for a peer never taken for a deadlock.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AsyncActionTest {
    private final ScheduledExecutorService later = Executors.newSingleThreadScheduledExecutor();

    /** Every runtime a test starts, closed after it (a runtime keeps its actor system until closed). */
    private final RuntimeCloser runtimes = new RuntimeCloser();

    @AfterEach
    void stop() {
        runtimes.closeAll();
        later.shutdownNow();
    }

    /** Two devices, each: a source of one number per step, a member that swaps it with its peer's, a sink. */
    private static final class SwapPlan {
        final PlanBuilder builder = new PlanBuilder();
        final int[] sources = new int[2];
        final int[] members = new int[2];
        final int[] sinks = new int[2];

        SwapPlan() {
            for (int d = 0; d < 2; d++) {
                int device = builder.device("cpu:" + d);
                sources[d] = builder.actor("data@" + d, "Source", device).kind(ActorKind.SOURCE).output(2).add();
                members[d] = builder.actor("swap@" + d, "Swap", device).kind(ActorKind.COLLECTIVE)
                        .phase(Phase.FORWARD).input(sources[d], 0).output(2).add();
                sinks[d] = builder.actor("sink@" + d, "Sink", device).kind(ActorKind.SINK).input(members[d], 0).add();
            }
        }
    }

    /** Sends its input to the other device and receives the other's into its output, continuing on its device. */
    private static final class Swap implements AsyncActorAction {
        private final InProcessTransport transport;
        private final Device self;
        private final Device peer;
        private final Map<Integer, Set<String>> taskThreads;

        Swap(InProcessTransport transport, Device self, Device peer, Map<Integer, Set<String>> taskThreads) {
            this.transport = transport;
            this.self = self;
            this.peer = peer;
            this.taskThreads = taskThreads;
        }

        @Override
        public Object createPayload(int output, int register) {
            return TensorBuffer.allocate(ElementType.F64, 1);
        }

        @Override
        public CompletionStage<Void> start(ActionContext context) {
            long id = context.iteration() * 16 + context.microBatch();
            TensorBuffer out = (TensorBuffer) context.output(0);
            CompletableFuture<Void> sent = transport.send(self, peer, id, (TensorBuffer) context.input(0));
            CompletableFuture<Void> received = transport.receive(self, peer, id, out);
            return CompletableFuture.allOf(sent, received).thenRunAsync(() -> {
                taskThreads.computeIfAbsent(self.index(), d -> ConcurrentHashMap.newKeySet())
                        .add(Thread.currentThread().getName());
                out.putDouble(0, out.getDouble(0) + 0.5);
            }, context.executor());
        }
    }

    private static ActorAction source(int device) {
        return new ActorAction() {
            @Override
            public Object createPayload(int output, int register) {
                return TensorBuffer.allocate(ElementType.F64, 1);
            }

            @Override
            public void act(ActionContext context) {
                ((TensorBuffer) context.output(0)).putDouble(0, 100 * device + context.iteration() * 10
                        + context.microBatch());
            }
        };
    }

    @Test
    void shouldPublishWhatTheActionLeftInItsOutputAfterItCompletedWithItsWorkOnTheDeviceThread()
            throws InterruptedException {
        SwapPlan swap = new SwapPlan();
        Plan plan = swap.builder.build();
        Map<Integer, Set<String>> taskThreads = new ConcurrentHashMap<>();
        Map<Integer, Set<String>> deviceThreads = new ConcurrentHashMap<>();
        List<String> received = new CopyOnWriteArrayList<>();
        try (InProcessTransport transport = new InProcessTransport(plan.devices(), Duration.ofSeconds(20))) {
            runtimes.add(ActorRuntime.inProcess()).run(plan, spec -> {
                int d = plan.deviceOf(spec).index();
                return switch (spec.kind()) {
                    case SOURCE -> source(d);
                    case COLLECTIVE -> new Swap(transport, plan.devices().get(d), plan.devices().get(1 - d),
                            taskThreads);
                    default -> context -> {
                        deviceThreads.computeIfAbsent(d, k -> ConcurrentHashMap.newKeySet())
                                .add(Thread.currentThread().getName());
                        received.add(d + ":" + ((TensorBuffer) context.input(0)).getDouble(0));
                    };
                };
            }, RunOptions.of(2, 3));
        }

        List<String> expected = new java.util.ArrayList<>();
        for (int d = 0; d < 2; d++) {
            for (int t = 0; t < 2; t++) {
                for (int k = 0; k < 3; k++) {
                    expected.add(d + ":" + (100 * (1 - d) + t * 10 + k + 0.5));
                }
            }
        }
        assertEquals(expected.stream().sorted().toList(), received.stream().sorted().toList());
        for (int d = 0; d < 2; d++) {
            assertEquals(deviceThreads.get(d), taskThreads.get(d), "the tasks of device " + d + "'s action ran on "
                    + taskThreads.get(d) + ", its other actions on " + deviceThreads.get(d));
        }
        runtimes.closeAll();
        RuntimeThreads.assertNoneLeft();
    }

    @Test
    void shouldFailTheJobNamingTheActorWhenTheActionCompletesExceptionally() {
        SwapPlan swap = new SwapPlan();
        Plan plan = swap.builder.build();
        try (InProcessTransport transport = new InProcessTransport(plan.devices(), Duration.ofMillis(300))) {
            ActionFailedException error = assertThrows(ActionFailedException.class, () -> runtimes.add(ActorRuntime.inProcess())
                    .run(plan, spec -> {
                        int d = plan.deviceOf(spec).index();
                        return switch (spec.kind()) {
                            case SOURCE -> source(d);
                            // only device 0's member posts: its peer never answers
                            case COLLECTIVE -> d == 0 ? new Swap(transport, plan.devices().get(0),
                                    plan.devices().get(1), new ConcurrentHashMap<>())
                                    : (AsyncActorAction) context -> new CompletableFuture<>();
                            default -> context -> { };
                        };
                    }, RunOptions.of(1, 1)));

            assertEquals("swap@0", error.actor());
            assertEquals("cpu:0", error.device());
            assertInstanceOf(TransportException.class, error.getCause());
        }
    }

    @Test
    void shouldWaitForAnActionThatTakesLongerThanTheDeadlockChecksOnAnOrderedDevice() throws InterruptedException {
        PlanBuilder builder = new PlanBuilder();
        int cpu = builder.device("cpu:0");
        int data = builder.actor("data", "Source", cpu).kind(ActorKind.SOURCE).output(1).add();
        int slow = builder.actor("slow", "Wait", cpu).kind(ActorKind.COLLECTIVE).input(data, 0).output(1).add();
        int sink = builder.actor("sink", "Sink", cpu).kind(ActorKind.SINK).input(slow, 0).add();
        builder.order(cpu, List.of(new OrderedAction(data, 0), new OrderedAction(slow, 0), new OrderedAction(sink, 0)));
        long waitMillis = 10 * Job.DEADLOCK_CHECK_PERIOD.toMillis();
        List<Long> completed = new CopyOnWriteArrayList<>();

        RunResult result = runtimes.add(ActorRuntime.inProcess()).run(builder.build(), spec -> spec.kind() == ActorKind.COLLECTIVE
                ? (AsyncActorAction) context -> {
                    CompletableFuture<Void> done = new CompletableFuture<>();
                    later.schedule(() -> context.executor().execute(() -> {
                        completed.add(context.iteration());
                        done.complete(null);
                    }), waitMillis, TimeUnit.MILLISECONDS);
                    return done;
                }
                : context -> { }, RunOptions.of(3, 1));

        assertEquals(List.of(0L, 1L, 2L), completed);
        assertEquals(9, result.actions());
    }

    @Test
    void shouldNotStartTheNextStepBeforeTheStartedOneCompleted() throws InterruptedException {
        PlanBuilder builder = new PlanBuilder();
        int cpu = builder.device("cpu:0");
        int data = builder.actor("data", "Source", cpu).kind(ActorKind.SOURCE).output(4).add();
        int member = builder.actor("member", "Wait", cpu).kind(ActorKind.COLLECTIVE).input(data, 0).output(4).add();
        builder.actor("sink", "Sink", cpu).kind(ActorKind.SINK).input(member, 0).add();
        List<String> events = new CopyOnWriteArrayList<>();

        runtimes.add(ActorRuntime.inProcess()).run(builder.build(), spec -> spec.kind() == ActorKind.COLLECTIVE
                ? (AsyncActorAction) context -> {
                    events.add("start " + context.microBatch());
                    CompletableFuture<Void> done = new CompletableFuture<>();
                    int microBatch = context.microBatch();
                    later.schedule(() -> {
                        events.add("end " + microBatch);
                        done.complete(null);
                    }, 20, TimeUnit.MILLISECONDS);
                    return done;
                }
                : context -> { }, RunOptions.of(1, 4));

        assertEquals(List.of("start 0", "end 0", "start 1", "end 1", "start 2", "end 2", "start 3", "end 3"), events);
    }
    /**
     * One device ordered data, first, second, sink, where first and second complete only once both
     * started (two gradients of one bucket): when the order moves on at their start, every step
     * completes; when it moves on only once an action completed, first waits for second, which
     * waits for its turn after first, and the bucket gives up.
     */
    @Test
    void shouldGiveTheNextActionItsTurnWhenAnActionThatMovesOnAtStartStarted() throws InterruptedException {
        List<String> sums = new CopyOnWriteArrayList<>();
        runtimes.add(ActorRuntime.inProcess()).run(bucketPlan(true), bucketActions(sums), RunOptions.of(2, 2));
        assertEquals(List.of("0/0", "0/1", "1/0", "1/1"), sums);

        ActionFailedException held = assertThrows(ActionFailedException.class, () -> runtimes.add(
                ActorRuntime.inProcess()).run(bucketPlan(false), bucketActions(new CopyOnWriteArrayList<>()),
                RunOptions.of(1, 1)));
        assertEquals("first", held.actor());
    }

    private static Plan bucketPlan(boolean movesOnAtStart) {
        PlanBuilder builder = new PlanBuilder();
        int cpu = builder.device("cpu:0");
        int data = builder.actor("data", "Source", cpu).kind(ActorKind.SOURCE).output(1).add();
        int first = builder.actor("first", "Bucket", cpu).kind(ActorKind.COLLECTIVE).input(data, 0).output(1).add();
        int second = builder.actor("second", "Bucket", cpu).kind(ActorKind.COLLECTIVE).input(data, 0).output(1).add();
        int sink = builder.actor("sink", "Sink", cpu).kind(ActorKind.SINK).input(first, 0).input(second, 0).add();
        List<OrderedAction> order = new java.util.ArrayList<>();
        for (int microBatch = 0; microBatch < 2; microBatch++) {
            order.add(new OrderedAction(data, microBatch));
            order.add(new OrderedAction(first, microBatch, movesOnAtStart));
            order.add(new OrderedAction(second, microBatch, movesOnAtStart));
            order.add(new OrderedAction(sink, microBatch));
        }
        builder.order(cpu, movesOnAtStart ? order : order.subList(0, 4));
        return builder.build();
    }

    /** The two members complete together once both arrived, or fail after 500 ms; the sink records the step. */
    private ActionFactory bucketActions(
            List<String> sums) {
        List<CompletableFuture<Void>> arrived = new CopyOnWriteArrayList<>();
        return spec -> switch (spec.kind()) {
            case COLLECTIVE -> (AsyncActorAction) context -> {
                CompletableFuture<Void> done = new CompletableFuture<>();
                synchronized (arrived) {
                    arrived.add(done);
                    if (arrived.size() == 2) {
                        arrived.forEach(member -> member.complete(null));
                        arrived.clear();
                    }
                }
                later.schedule(() -> done.completeExceptionally(new IllegalStateException("the other member never "
                        + "arrived")), 500, TimeUnit.MILLISECONDS);
                return done;
            };
            case SINK -> context -> sums.add(context.iteration() + "/" + context.microBatch());
            default -> context -> { };
        };
    }
}
