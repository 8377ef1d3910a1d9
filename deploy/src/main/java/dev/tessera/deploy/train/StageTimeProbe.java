package dev.tessera.deploy.train;

import dev.tessera.api.DataSource;
import dev.tessera.lowering.DistributedTraining;
import dev.tessera.plan.schedule.Schedules;
import dev.tessera.plan.simulate.CostModel;
import dev.tessera.tensor.HostTensor;
import dev.tessera.worker.actors.ActorExecutorOptions;
import dev.tessera.worker.actors.MeasuredStageTimes;
import dev.tessera.worker.actors.ParallelExecutor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The stage times {@code parallel.schedule = auto} searches with when they are measured: each
 * stage's F, B and W time per micro-batch and the update's, on a copy of the model trained for
 * two iterations of 1F1B on the run's first batches at learning rate 0, the second traced. The
 * copy is discarded, so the run itself starts from its own initial state and data position.
 */
final class StageTimeProbe {
    private static final int ITERATIONS = 2;

    private StageTimeProbe() {
    }

    /**
     * @param stageOfOp the schedule stage of every logical op by name
     * @param options   the run's executor options (the probe adds the trace and 1F1B)
     */
    static CostModel measure(DistributedTraining distributed, Map<String, Integer> stageOfOp, int stages,
                             int microBatches, DataSource data, long seed, ActorExecutorOptions options) {
        List<List<Map<String, HostTensor>>> iterations = new ArrayList<>();
        for (int t = 0; t < ITERATIONS; t++) {
            List<Map<String, HostTensor>> batches = new ArrayList<>(microBatches);
            for (int j = 0; j < microBatches; j++) {
                batches.add(data.batch((long) t * microBatches + j));
            }
            iterations.add(batches);
        }
        try (ParallelExecutor probe = new ParallelExecutor(distributed, seed, options.withTrace(true)
                .withSchedule(Schedules.oneFOneB(stages, microBatches), stageOfOp))) {
            // the first iteration warms up; the second is the one timed
            for (List<Map<String, HostTensor>> iteration : iterations) {
                probe.run(List.of(iteration), new double[] {0.0});
            }
            return MeasuredStageTimes.of(probe.lastTrace().orElseThrow(), event -> {
                String name = event.actor().name();
                int at = name.lastIndexOf('@');
                return stageOfOp.getOrDefault(at < 0 ? name : name.substring(0, at), -1);
            }, stages, 1, microBatches);
        }
    }
}
