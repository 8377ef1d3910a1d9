package dev.tessera.plan.simulate;

import dev.tessera.graph.Cost;
import dev.tessera.graph.Op;
import dev.tessera.graph.Tensor;
import dev.tessera.lowering.DistributedTraining;
import java.util.ArrayList;
import java.util.List;
import java.util.function.ToIntFunction;

/**
 * Modeled stage costs of a pipeline layout: a device's F, B and W times are the sums of its ops of
 * that phase, each op's FLOPs and bytes ({@code OpDef.cost}) timed by a device cost model, and a
 * stage's are those of its busiest device (the devices of a data- or tensor-parallel stage work
 * side by side). What {@code parallel.schedule = auto} searches with when no measured times are
 * given; transfers are left free, as they overlap compute on the runtime.
 */
public final class StageCosts {
    private StageCosts() {
    }

    /** One stage per device: stage s on the layout's device s. */
    public static CostModel of(DistributedTraining distributed, dev.tessera.sbp.infer.CostModel device) {
        return of(distributed, distributed.devices().size(),
                op -> distributed.devices().indexOf(distributed.device(op)), device);
    }

    /**
     * @param stageOfOp the stage of each physical F, B or W op
     */
    public static CostModel of(DistributedTraining distributed, int stages, ToIntFunction<Op> stageOfOp,
                               dev.tessera.sbp.infer.CostModel device) {
        int devices = distributed.devices().size();
        // [phase][stage][device]
        double[][][] seconds = new double[3][stages][devices];
        for (Op op : distributed.physical().ops()) {
            int phase = switch (op.phase()) {
                case FORWARD -> 0;
                case BACKWARD_INPUT -> 1;
                case BACKWARD_WEIGHT -> 2;
                case UPDATE -> -1;
            };
            if (phase < 0) {
                continue;
            }
            Cost cost = op.def().cost(op.inputs().stream().map(Tensor::type).toList(),
                    op.outputs().stream().map(Tensor::type).toList());
            seconds[phase][stageOfOp.applyAsInt(op)][distributed.devices().indexOf(distributed.device(op))] +=
                    device.seconds(cost.flops(), cost.bytes());
        }
        List<List<Double>> perPhase = new ArrayList<>();
        for (double[][] phase : seconds) {
            List<Double> perStage = new ArrayList<>();
            for (double[] stage : phase) {
                double busiest = 0;
                for (double value : stage) {
                    busiest = Math.max(busiest, value);
                }
                perStage.add(busiest);
            }
            perPhase.add(perStage);
        }
        return CostModel.perStage(perPhase.get(0), perPhase.get(1), perPhase.get(2), 0.0);
    }
}
