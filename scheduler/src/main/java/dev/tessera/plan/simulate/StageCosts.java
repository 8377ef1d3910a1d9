package dev.tessera.plan.simulate;

import dev.tessera.graph.Cost;
import dev.tessera.graph.Op;
import dev.tessera.graph.Tensor;
import dev.tessera.lowering.DistributedTraining;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Modeled stage costs of a layout whose stages are one device each (stage s on device s): the
 * F, B and W times of a stage are the sums of its device's ops of that phase, each op's FLOPs and
 * bytes ({@code OpDef.cost}) timed by a device cost model. What {@code parallel.schedule = auto}
 * searches with when no measured times are given; transfers are left free, as they overlap
 * compute on the runtime.
 */
public final class StageCosts {
    private StageCosts() {
    }

    public static CostModel of(DistributedTraining distributed, dev.tessera.sbp.infer.CostModel device) {
        int stages = distributed.devices().size();
        List<Double> forward = new ArrayList<>(Collections.nCopies(stages, 0.0));
        List<Double> backwardInput = new ArrayList<>(Collections.nCopies(stages, 0.0));
        List<Double> backwardWeight = new ArrayList<>(Collections.nCopies(stages, 0.0));
        for (Op op : distributed.physical().ops()) {
            List<Double> phase = switch (op.phase()) {
                case FORWARD -> forward;
                case BACKWARD_INPUT -> backwardInput;
                case BACKWARD_WEIGHT -> backwardWeight;
                case UPDATE -> null;
            };
            if (phase == null) {
                continue;
            }
            int stage = distributed.devices().indexOf(distributed.device(op));
            Cost cost = op.def().cost(op.inputs().stream().map(Tensor::type).toList(),
                    op.outputs().stream().map(Tensor::type).toList());
            phase.set(stage, phase.get(stage) + device.seconds(cost.flops(), cost.bytes()));
        }
        return CostModel.perStage(forward, backwardInput, backwardWeight, 0.0);
    }
}
