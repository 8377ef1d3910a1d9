package dev.tessera.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tessera.runtime.plan.Plan;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Random plans (random DAGs over random devices, random quotas, random action delays) always
 * complete, run each actor exactly once per micro-batch of every iteration in dependency
 * order, never hold more pieces of an output alive than its quota, never run two actions of a
 * device at once, and deliver to every input the piece of its own micro-batch.
 */
class RandomPlanPropertyTest {
    private static final int PLANS = 60;

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void shouldCompleteEveryRandomPlanRespectingOrderQuotasAndDevices() throws InterruptedException {
        ActorRuntime runtime = ActorRuntime.inProcess();
        Random random = new Random(20261122L);
        for (int trial = 0; trial < PLANS; trial++) {
            long seed = random.nextLong();
            Random planRandom = new Random(seed);
            Plan plan = RandomPlans.create(planRandom);
            int iterations = 1 + planRandom.nextInt(3);
            int microBatches = 1 + planRandom.nextInt(5);
            long maxDelayNanos = planRandom.nextBoolean() ? 0 : 1 + planRandom.nextInt(300_000);
            AtomicLong actions = new AtomicLong();

            RunResult result = runtime.run(plan,
                    spec -> new CheckingAction(plan, spec, microBatches, seed + spec.id(), maxDelayNanos, -1, actions),
                    RunOptions.of(iterations, microBatches).withTrace(true)
                            .withThroughput(1 + planRandom.nextInt(10)));

            long steps = (long) iterations * microBatches;
            long checkedActions = steps * plan.actors().stream().filter(spec -> !RandomPlans.isTransfer(spec)).count();
            assertEquals(checkedActions, actions.get(), "actions of plan with seed " + seed + "\n" + plan);
            TraceChecks checks = new TraceChecks(result.trace().orElseThrow(), steps, microBatches);
            checks.assertDependencyOrder();
            checks.assertQuotasRespected();
            checks.assertDevicesRunOneActionAtATime();
        }
        runtime.close();
        RuntimeThreads.assertNoneLeft();
    }
}
