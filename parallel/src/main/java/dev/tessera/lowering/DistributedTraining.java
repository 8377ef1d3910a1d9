package dev.tessera.lowering;

import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.graph.Op;
import dev.tessera.graph.Tensor;
import dev.tessera.sbp.DeviceId;
import dev.tessera.sbp.NdSbp;
import dev.tessera.sbp.Placement;
import dev.tessera.sbp.Sbp;
import dev.tessera.sbp.infer.CostModel;
import dev.tessera.sbp.infer.GreedySbpInference;
import dev.tessera.sbp.infer.SbpAssignment;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A training graph laid out over a placement and lowered to devices: the logical graph, the SBP
 * assignment it was lowered with, and the physical training graph in which every op is one
 * device's part (local shapes, collectives as ops bound to their peers). The physical graph is
 * an ordinary {@link TrainingGraph}, so any executor runs it; {@link #device(Op)} says on which of {@link #devices()}.
 *
 * @param deviceOfOp the device that runs each physical op, indexed by the op's id
 * @param shards for every data input, parameter and stored state tensor of the logical graph,
 *     its tensor on each device, in rank order (the same tensor for every rank where the
 *     logical one is a scalar fed from the schedule: learning rate and step)
 */
public record DistributedTraining(TrainingGraph logical, SbpAssignment assignment, TrainingGraph physical,
        List<DeviceId> devices, List<DeviceId> deviceOfOp, Map<Tensor, List<Tensor>> shards) {

    public DistributedTraining {
        devices = List.copyOf(devices);
        deviceOfOp = List.copyOf(deviceOfOp);
        shards = Map.copyOf(shards);
    }

    /**
     * Infers the layout of every op of {@code graph} on {@code placement} (greedy, cost-based;
     * {@code hints} fix the tensors the user chose, e.g. the batch split S(0)) and lowers it. The
     * loss, the gradient norm, the learning rate and the step are kept Broadcast: every device
     * reports the same loss and norm.
     */
    public static DistributedTraining plan(TrainingGraph graph, Placement placement, Map<Tensor, NdSbp> hints,
            CostModel model) {
        return plan(graph, placement, Map.of(), hints, model);
    }

    /**
     * The same with stages: the ops in {@code stages} run on their placement (see
     * {@link dev.tessera.sbp.infer.StageRules} to choose them by name), the others on
     * {@code placement}; tensors move between stages by send/recv.
     */
    public static DistributedTraining plan(TrainingGraph graph, Placement placement, Map<Op, Placement> stages,
            Map<Tensor, NdSbp> hints, CostModel model) {
        return PhysicalLowering.lower(graph, GreedySbpInference.infer(graph.ops(), placement, stages,
                trainingHints(graph, placement, hints), graph.options().microBatches(), model));
    }

    /**
     * {@code hints} plus Broadcast for the loss, the gradient norm, the learning rate and the
     * step: what every plan of a training graph must hold so that each device reports the same
     * loss and applies the same schedule.
     *
     * @throws IllegalArgumentException when a hint gives one of those another layout
     */
    public static Map<Tensor, NdSbp> trainingHints(TrainingGraph graph, Placement placement, Map<Tensor, NdSbp> hints) {
        NdSbp broadcast = NdSbp.uniform(placement.axes(), Sbp.broadcast());
        Map<Tensor, NdSbp> all = new HashMap<>(hints);
        for (Tensor scalar : List.of(graph.loss(), graph.gradNorm(), graph.learningRate(), graph.optimizerStep())) {
            NdSbp chosen = all.putIfAbsent(scalar, broadcast);
            if (chosen != null && !chosen.equals(broadcast)) {
                throw new IllegalArgumentException("'" + scalar.name() + "' was hinted " + chosen + " but the loss, the "
                        + "gradient norm and the schedule's scalars are Broadcast on every device; drop that hint");
            }
        }
        return all;
    }

    /** The placement a logical tensor lives on (its stage's). */
    public Placement placement(Tensor logicalTensor) {
        return assignment.placement(logicalTensor);
    }

    /** The device, one of {@link #devices()}, that runs a physical op. */
    public DeviceId device(Op physicalOp) {
        return deviceOfOp.get(physicalOp.id());
    }

    /** The layout a logical tensor is stored or produced in. */
    public NdSbp layout(Tensor logicalTensor) {
        return assignment.layout(logicalTensor);
    }

    /** The per-device tensors of a logical input, parameter or state tensor, in the rank order of its placement. */
    public List<Tensor> shards(Tensor logicalTensor) {
        List<Tensor> perRank = shards.get(logicalTensor);
        if (perRank == null) {
            throw new IllegalArgumentException("'" + logicalTensor.name() + "' is not an input, parameter or state "
                    + "tensor that the training graph reads");
        }
        return perRank;
    }

    /** Whether the logical graph's ops read this input at all (inputs no op reads have no shards). */
    public boolean hasShards(Tensor logicalTensor) {
        return shards.containsKey(logicalTensor);
    }
}
