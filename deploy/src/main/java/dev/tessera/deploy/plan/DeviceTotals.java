package dev.tessera.deploy.plan;

import dev.tessera.graph.Op;
import dev.tessera.graph.Tensor;
import dev.tessera.graph.TensorKind;
import dev.tessera.graph.TensorType;
import dev.tessera.sbp.DeviceId;
import dev.tessera.sbp.NdSbpSignature;
import dev.tessera.sbp.Placement;
import dev.tessera.sbp.Sharding;
import dev.tessera.sbp.infer.SbpAssignment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What one device holds and does per iteration under a plan, from its local shapes. Memory:
 * parameters, optimizer state (moments, momentum), gradient accumulators, and activations: every
 * other tensor one micro-batch writes, forward and backward, counted without buffer reuse, so an
 * upper bound. Compute: FLOPs of every op on the device's local shapes ({@code OpDef.cost}),
 * micro-batch ops counted once per micro-batch. Communication: bytes the device sends to other
 * devices per iteration under the execution plan (collective messages and transferred tensors,
 * {@link ParallelPlan#sentBytesPerIteration()}), which is what the runtime counts.
 */
public record DeviceTotals(DeviceId device, long parameterBytes, long optimizerStateBytes, long gradientBytes,
        long activationBytes, double flops, double sentBytes) {

    public long memoryBytes() {
        return parameterBytes + optimizerStateBytes + gradientBytes + activationBytes;
    }

    /** One entry per device of the run ({@link SbpAssignment#devices()}), in node and device order. */
    public static List<DeviceTotals> of(ParallelPlan plan) {
        SbpAssignment assignment = plan.assignment();
        Set<Tensor> optimizerState = new HashSet<>(plan.graph().optimizerState());
        // post-validation's copies of parameters and state are held as long as the state itself
        optimizerState.addAll(plan.graph().rollbackCopies());
        // Each tensor and op counts on its own placement's devices, so the run's devices are indexed by id.
        List<DeviceId> all = assignment.devices();
        Map<DeviceId, Integer> index = new HashMap<>();
        for (DeviceId device : all) {
            index.put(device, index.size());
        }
        int devices = all.size();
        long[] parameters = new long[devices];
        long[] optimizer = new long[devices];
        long[] gradients = new long[devices];
        long[] activations = new long[devices];
        double[] flops = new double[devices];
        double[] sent = new double[devices];
        for (Tensor t : plan.tensors()) {
            long[] bucket = t.kind() == TensorKind.PARAMETER ? parameters
                    : optimizerState.contains(t) ? optimizer
                    : t.kind() == TensorKind.STATE ? gradients : activations;
            Placement placement = assignment.placement(t);
            for (int rank = 0; rank < placement.size(); rank++) {
                TensorType local = Sharding.localType(t.type(), placement, assignment.layout(t), rank);
                bucket[index.get(placement.device(rank))] += local.shape().size() * local.dtype().bytes();
            }
        }
        for (Op op : plan.ops()) {
            NdSbpSignature signature = assignment.signatures().get(op);
            Placement placement = assignment.placement(op);
            int runs = plan.runsPerIteration(op);
            for (int rank = 0; rank < placement.size(); rank++) {
                List<TensorType> in = new ArrayList<>(op.inputs().size());
                for (int i = 0; i < op.inputs().size(); i++) {
                    in.add(Sharding.localType(op.input(i).type(), placement, signature.inputs().get(i), rank));
                }
                List<TensorType> out = new ArrayList<>(op.outputs().size());
                for (int o = 0; o < op.outputs().size(); o++) {
                    out.add(Sharding.localType(op.output(o).type(), placement, signature.outputs().get(o), rank));
                }
                flops[index.get(placement.device(rank))] += (double) op.def().cost(in, out).flops() * runs;
            }
        }
        long[] planned = plan.sentBytesPerIteration();
        for (int d = 0; d < devices; d++) {
            sent[d] = planned[d];
        }
        List<DeviceTotals> totals = new ArrayList<>(devices);
        for (int d = 0; d < devices; d++) {
            totals.add(new DeviceTotals(all.get(d), parameters[d], optimizer[d], gradients[d], activations[d], flops[d],
                    sent[d]));
        }
        return totals;
    }
}
