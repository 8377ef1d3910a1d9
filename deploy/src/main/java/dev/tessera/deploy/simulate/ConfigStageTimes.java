package dev.tessera.deploy.simulate;

import dev.tessera.deploy.config.RunConfig;
import dev.tessera.deploy.plan.ParallelPlan;
import dev.tessera.deploy.train.TrainingSetup;
import dev.tessera.graph.Cost;
import dev.tessera.graph.Op;
import dev.tessera.graph.Phase;
import dev.tessera.graph.Tensor;
import dev.tessera.graph.TensorType;
import dev.tessera.sbp.NdSbpSignature;
import dev.tessera.sbp.Placement;
import dev.tessera.sbp.Sharding;
import dev.tessera.sbp.infer.CostModel;
import dev.tessera.sbp.infer.SbpAssignment;
import dev.tessera.plan.simulate.DeviceProfile;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Stage times from a run config: the config's model laid out as {@code tessera plan} lays it out
 * ({@code parallel.pipeline} stages by {@code parallel.stages}), and per stage the FLOPs of one
 * micro-batch's F, B and W ops on the busiest device of the stage, over the planner's standard
 * FLOP rate ({@link CostModel#standard()}), in seconds; transfers between stages then cost 0.
 *
 * <p>With a {@link DeviceProfile}, each op instead takes its roofline time on the profile
 * ({@link DeviceProfile#computeSeconds} of its FLOPs and bytes from {@code OpDef.cost} on the local
 * shapes), summed per phase on the busiest device, and each stage boundary one transfer of the
 * bytes of the forward tensors that stage i produces and a later stage reads (whole tensors, each
 * counted once per reading stage; a tensor read two stages on is charged to the producer's
 * boundary, as {@code StageBalancer} does) over the profile's link.
 */
public final class ConfigStageTimes {
    private ConfigStageTimes() {
    }

    /** The stage times of {@code run}'s model; throws what {@link ParallelPlan#of} throws for a layout that cannot work. */
    public static StageTimes of(RunConfig run) {
        return of(run, null);
    }

    /**
     * The stage times of {@code run}'s model on {@code profile} (null: the planner's standard FLOP rate
     * and free transfers, {@link #of(RunConfig)}).
     */
    public static StageTimes of(RunConfig run, DeviceProfile profile) {
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
            addPerRank(flops[phase][stage], op, placement, assignment.signatures().get(op), profile);
        }
        if (profile != null) {
            List<List<Double>> seconds = busiest(flops);
            List<Double> transfers = new ArrayList<>();
            for (long bytes : crossingBytes(plan)) {
                transfers.add(profile.transferSeconds(bytes));
            }
            return StageTimes.withBoundaries(seconds.get(0), seconds.get(1), seconds.get(2), transfers);
        }
        double rate = CostModel.standard().flopsPerSecond();
        List<List<Double>> seconds = new ArrayList<>();
        for (List<Double> perStage : busiest(flops)) {
            seconds.add(perStage.stream().map(value -> value / rate).toList());
        }
        return new StageTimes(seconds.get(0), seconds.get(1), seconds.get(2), 0.0);
    }

    /** Per phase and stage, the largest value of any device of the stage. */
    private static List<List<Double>> busiest(double[][][] perPhase) {
        List<List<Double>> result = new ArrayList<>();
        for (double[][] perStage : perPhase) {
            List<Double> values = new ArrayList<>();
            for (double[] perRank : perStage) {
                values.add(perRank == null ? 0.0 : Arrays.stream(perRank).max().orElse(0));
            }
            result.add(values);
        }
        return result;
    }

    /**
     * Per boundary i (between stages i and i+1), the bytes of one micro-batch's forward tensors made on
     * stage i and read on a later stage, each counted once per reading stage.
     */
    static long[] crossingBytes(ParallelPlan plan) {
        int stages = plan.stages().size();
        long[] bytes = new long[Math.max(0, stages - 1)];
        Map<Tensor, Integer> producedOn = new HashMap<>();
        Set<List<Object>> counted = new HashSet<>();
        for (Op op : plan.ops()) {
            if (op.phase() != Phase.FORWARD) {
                continue;
            }
            int stage = plan.stages().indexOf(plan.assignment().placement(op));
            for (Tensor in : op.inputs()) {
                Integer source = producedOn.get(in);
                if (source != null && source < stage && counted.add(List.of(in, stage))) {
                    bytes[source] += in.shape().size() * in.dtype().bytes();
                }
            }
            for (Tensor out : op.outputs()) {
                producedOn.put(out, stage);
            }
        }
        return bytes;
    }

    /**
     * Adds the op's cost per micro-batch on each device of its placement: its FLOPs, or with a profile
     * its roofline seconds.
     */
    private static void addPerRank(double[] perRank, Op op, Placement placement, NdSbpSignature signature,
            DeviceProfile profile) {
        for (int rank = 0; rank < placement.size(); rank++) {
            List<TensorType> in = new ArrayList<>(op.inputs().size());
            for (int i = 0; i < op.inputs().size(); i++) {
                in.add(Sharding.localType(op.input(i).type(), placement, signature.inputs().get(i), rank));
            }
            List<TensorType> out = new ArrayList<>(op.outputs().size());
            for (int o = 0; o < op.outputs().size(); o++) {
                out.add(Sharding.localType(op.output(o).type(), placement, signature.outputs().get(o), rank));
            }
            Cost cost = op.def().cost(in, out);
            perRank[rank] += profile == null ? cost.flops() : profile.computeSeconds(cost.flops(), cost.bytes());
        }
    }
}
