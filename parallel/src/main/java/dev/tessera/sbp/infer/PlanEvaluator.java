package dev.tessera.sbp.infer;

import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.graph.Op;
import dev.tessera.graph.Phase;
import dev.tessera.graph.Tensor;
import dev.tessera.graph.TensorKind;
import dev.tessera.graph.TensorType;
import dev.tessera.sbp.NdSbp;
import dev.tessera.sbp.NdSbpSignature;
import dev.tessera.sbp.Placement;
import dev.tessera.sbp.Sharding;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Estimates the iteration time and peak memory of a training graph under an SBP assignment, on
 * the device at rank 0: a balanced split gives the first parts the extra element, so rank 0
 * holds the largest part of every split tensor and does the most work (every other device holds
 * as much of a Broadcast or PartialSum tensor).
 *
 * <p>Time: each op runs once per micro-batch (update ops once per iteration) and costs its local
 * FLOPs plus the bytes the busiest device sends for the boxing in front of it. Memory: the
 * tensors that live across iterations (parameters, optimizer state, gradient accumulators), plus
 * one micro-batch's data inputs and op outputs and the conversions' outputs, with no buffer
 * reuse, so an upper bound that ranks layouts the way the real peak does.
 *
 * <p>Each conversion that sends bytes also costs the cost model's latency per collective (as in
 * {@link SignatureCost}): without it, splitting a small tensor looks free whenever the bytes
 * cancel out (a weight read once and stored sharded costs a reduce-scatter and an all-gather,
 * exactly the bytes of its data-parallel all-reduce), and the search would shard every bias to
 * save a few FLOPs of its update. Ops on stages count on their own placement; memory then adds
 * up every stage's rank 0, an upper bound.
 */
public final class PlanEvaluator {
    private PlanEvaluator() {
    }

    public static PlanEstimate evaluate(TrainingGraph graph, SbpAssignment assignment, CostModel model) {
        return evaluate(graph.ops(), graph.options().microBatches(), assignment, model);
    }

    /**
     * @param ops every op of one iteration in order (forward, backward, update)
     * @param microBatches how often the non-update ops run per iteration
     */
    public static PlanEstimate evaluate(List<Op> ops, int microBatches, SbpAssignment assignment, CostModel model) {
        Map<Op, Double> boxingSecondsBefore = new HashMap<>();
        long boxingMemory = 0;
        for (SbpAssignment.InsertedBoxing boxing : assignment.boxings()) {
            if (boxing.shared()) {
                continue; // reads the result of an earlier consumer's conversion
            }
            boolean sends = boxing.plan().totalBytes() > 0;
            boxingSecondsBefore.merge(boxing.op(), sends
                    ? model.communicationSeconds(boxing.plan().maxBytesPerDevice(), 1)
                    : model.localConversionSeconds(), Double::sum);
            boxingMemory += localBytes(boxing.plan().type(), boxing.plan().toPlacement(), boxing.plan().to());
        }
        double computeSeconds = 0;
        double communicationSeconds = 0;
        Set<Tensor> tensors = new LinkedHashSet<>();
        for (Op op : ops) {
            int runs = op.phase() == Phase.UPDATE ? 1 : microBatches;
            NdSbpSignature signature = assignment.signatures().get(op);
            if (signature == null) {
                throw new IllegalArgumentException("op '" + op.name() + "' has no signature in the assignment; "
                        + "evaluate the assignment inferred for these ops");
            }
            double flops = SignatureCost.localFlops(op.def(), op.inputTypes(), op.outputTypes(), signature,
                    assignment.placement(op));
            computeSeconds += runs * model.seconds(flops, 0);
            communicationSeconds += runs * boxingSecondsBefore.getOrDefault(op, 0.0);
            tensors.addAll(op.inputs());
            tensors.addAll(op.outputs());
        }
        long persistent = 0;
        long activations = 0;
        for (Tensor t : tensors) {
            long bytes = localBytes(t.type(), assignment.placement(t), assignment.layout(t));
            if (t.kind() == TensorKind.PARAMETER || t.kind() == TensorKind.STATE) {
                persistent += bytes;
            } else {
                activations += bytes;
            }
        }
        return new PlanEstimate(computeSeconds, communicationSeconds, persistent, activations, boxingMemory);
    }

    private static long localBytes(TensorType type, Placement placement, NdSbp layout) {
        TensorType local = Sharding.localType(type, placement, layout, 0);
        return local.shape().size() * local.dtype().bytes();
    }
}
