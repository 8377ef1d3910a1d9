package dev.tessera.deploy.plan;

import dev.tessera.deploy.config.ParallelSettings;
import dev.tessera.graph.Op;
import dev.tessera.lowering.DistributedTraining;
import dev.tessera.plan.schedule.PipelineSchedule;
import dev.tessera.plan.schedule.ScheduleName;
import dev.tessera.plan.schedule.auto.AutoScheduler;
import dev.tessera.plan.simulate.StageCosts;
import dev.tessera.sbp.infer.CostModel;
import java.util.Map;
import java.util.Optional;

/**
 * The pipeline schedule of a layout, as {@code parallel.schedule} names it, and the stage of every
 * op that the schedule's lists are read by: what {@code tessera train} runs and {@code tessera
 * plan} shows. {@code auto} searches with the stages' modeled costs, holding at most as many
 * micro-batches per device as 1F1B (one per stage); the trainer may search again with measured
 * ones ({@link #withMeasuredStageTimes}).
 *
 * @param schedule empty for {@code parallel.schedule = none}
 * @param stageOfOp the schedule stage of every logical op by name; empty without a schedule
 * @param autoOrigin for {@code auto}, the family or construction it chose; empty otherwise
 */
public record PipelineSetup(Optional<PipelineSchedule> schedule, Map<String, Integer> stageOfOp,
        Optional<String> autoOrigin) {

    public PipelineSetup {
        stageOfOp = Map.copyOf(stageOfOp);
    }

    public static PipelineSetup of(ParallelPlan plan, DistributedTraining distributed) {
        ParallelSettings parallel = plan.settings();
        if (parallel.schedule().isEmpty()) {
            return new PipelineSetup(Optional.empty(), Map.of(), Optional.empty());
        }
        Map<String, Integer> stageOfOp = plan.stageOfOp();
        ScheduleName name = parallel.schedule().get();
        int stages = parallel.pipeline();
        int microBatches = plan.graph().options().microBatches();
        if (name == ScheduleName.AUTO) {
            AutoScheduler.Choice choice = AutoScheduler.schedule(microBatches, StageCosts.of(distributed, stages,
                    op -> stageOfOp.getOrDefault(logicalName(op), 0), CostModel.standard()), stages);
            return new PipelineSetup(Optional.of(choice.schedule()), stageOfOp, Optional.of(choice.origin()));
        }
        return new PipelineSetup(Optional.of(name.build(stages, microBatches, parallel.stagesPerDevice())),
                stageOfOp, Optional.empty());
    }

    /**
     * For {@code auto}: the search again, fed stage times measured on this machine instead of the
     * modeled ones, with the same limit of micro-batches per device.
     */
    public PipelineSetup withMeasuredStageTimes(ParallelPlan plan, dev.tessera.plan.simulate.CostModel measured) {
        int microBatches = plan.graph().options().microBatches();
        AutoScheduler.Choice choice = AutoScheduler.schedule(microBatches, measured, plan.settings().pipeline());
        return new PipelineSetup(Optional.of(choice.schedule()), stageOfOp, Optional.of(choice.origin()));
    }

    /** The logical op a physical op ({@code name@device}) was lowered from. */
    private static String logicalName(Op physical) {
        int at = physical.name().lastIndexOf('@');
        return at < 0 ? physical.name() : physical.name().substring(0, at);
    }
}
