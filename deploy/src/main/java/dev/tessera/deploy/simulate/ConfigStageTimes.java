package dev.tessera.deploy.simulate;

import dev.tessera.deploy.config.RunConfig;
import dev.tessera.deploy.plan.ParallelPlan;
import dev.tessera.deploy.train.TrainingSetup;
import dev.tessera.graph.Op;
import dev.tessera.graph.TensorType;
import dev.tessera.sbp.NdSbpSignature;
import dev.tessera.sbp.Placement;
import dev.tessera.sbp.Sharding;
import dev.tessera.sbp.infer.CostModel;
import dev.tessera.sbp.infer.SbpAssignment;
import java.util.ArrayList;
import java.util.List;

/**
 * Stage times from a run config: the config's model laid out as {@code tessera plan} lays it out
 * ({@code parallel.pipeline} stages by {@code parallel.stages}), and per stage the FLOPs of one
 * micro-batch's F, B and W ops on the busiest device of the stage, over the planner's standard
 * FLOP rate ({@link CostModel#standard()}), in seconds. Transfers between stages are not modeled
 * from the config: they cost 0.
 */
public final class ConfigStageTimes {
    private ConfigStageTimes() {
    }

    /** The stage times of {@code run}'s model; throws what {@link ParallelPlan#of} throws for a layout that cannot work. */
    public static StageTimes of(RunConfig run) {
        TrainingSetup setup = TrainingSetup.from(run);
        ParallelPlan plan = ParallelPlan.of(run.modelType(), setup.model().describe(), setup.graph(),
                run.settings().batchSize(), run.parallel());
        int stages = plan.stages().size();
        double[][][] flops = new double[3][stages][];
        SbpAssignment assignment = plan.assignment();
        for (Op op : plan.ops()) {
            int phase = switch (op.phase()) {
                case FORWARD -> 0;
                case BACKWARD_INPUT -> 1;
                case BACKWARD_WEIGHT -> 2;
                case UPDATE -> -1;
            };
            if (phase < 0) {
                continue;
            }
            Placement placement = assignment.placement(op);
            int stage = plan.stages().indexOf(placement);
            if (stage < 0) {
                throw new IllegalStateException("op " + op.name() + " runs on " + placement + ", which is no stage of the plan");
            }
            if (flops[phase][stage] == null) {
                flops[phase][stage] = new double[placement.size()];
            }
            addPerRank(flops[phase][stage], op, placement, assignment.signatures().get(op));
        }
        double rate = CostModel.standard().flopsPerSecond();
        List<List<Double>> seconds = new ArrayList<>();
        for (double[][] perStage : flops) {
            List<Double> times = new ArrayList<>();
            for (double[] perRank : perStage) {
                times.add(perRank == null ? 0.0 : java.util.Arrays.stream(perRank).max().orElse(0) / rate);
            }
            seconds.add(times);
        }
        return new StageTimes(seconds.get(0), seconds.get(1), seconds.get(2), 0.0);
    }

    /** Adds the op's FLOPs per micro-batch on each device of its placement. */
    private static void addPerRank(double[] perRank, Op op, Placement placement, NdSbpSignature signature) {
        for (int rank = 0; rank < placement.size(); rank++) {
            List<TensorType> in = new ArrayList<>(op.inputs().size());
            for (int i = 0; i < op.inputs().size(); i++) {
                in.add(Sharding.localType(op.input(i).type(), placement, signature.inputs().get(i), rank));
            }
            List<TensorType> out = new ArrayList<>(op.outputs().size());
            for (int o = 0; o < op.outputs().size(); o++) {
                out.add(Sharding.localType(op.output(o).type(), placement, signature.outputs().get(o), rank));
            }
            perRank[rank] += op.def().cost(in, out).flops();
        }
    }
}
