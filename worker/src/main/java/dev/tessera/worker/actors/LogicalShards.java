package dev.tessera.worker.actors;

import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.graph.Tensor;
import dev.tessera.lowering.DistributedTraining;
import dev.tessera.sbp.DeviceId;
import dev.tessera.sbp.boxing.HostSharding;
import dev.tessera.tensor.HostTensor;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Logical tensors and their per-device parts under one lowering: the parts of a whole value
 * (keyed by each device's tensor name, {@code fc1.weight@0:1}), and a whole value assembled back
 * from its parts, checking that replicas agree ({@link HostSharding}). The executor of one JVM
 * uses it at its edges; the coordinator of a multi-process job uses it on the parts its worker
 * processes send back.
 */
public final class LogicalShards {
    private final DistributedTraining distributed;

    public LogicalShards(DistributedTraining distributed) {
        this.distributed = distributed;
    }

    /** The parts of {@code value}, the whole {@code logical} tensor, keyed by the name of each device's tensor. */
    public Map<String, HostTensor> shard(Tensor logical, HostTensor value) {
        Map<DeviceId, HostTensor> parts = HostSharding.shard(value, distributed.placement(logical),
                distributed.layout(logical), 0);
        List<Tensor> local = distributed.shards(logical);
        Map<String, HostTensor> out = new LinkedHashMap<>();
        for (int r = 0; r < local.size(); r++) {
            out.put(local.get(r).name(), parts.get(distributed.placement(logical).device(r)));
        }
        return out;
    }

    /**
     * The whole value of {@code logical} from its parts in {@code local} (keyed by the device
     * tensors' names).
     *
     * @throws IllegalArgumentException naming the tensor when a part is missing or replicas differ
     */
    public HostTensor assemble(Tensor logical, Map<String, HostTensor> local) {
        return assemble(logical, logical, local);
    }

    /** Every tensor of {@code tensors} assembled, keyed by logical name. */
    public Map<String, HostTensor> assembleAll(List<Tensor> tensors, Map<String, HostTensor> local) {
        Map<String, HostTensor> out = new LinkedHashMap<>();
        for (Tensor t : tensors) {
            out.put(t.name(), assemble(t, local));
        }
        return out;
    }

    /**
     * The gradient of every parameter, keyed by parameter name, from the devices' accumulators
     * keyed by each device's parameter (as {@link ParallelExecutor#gradients} and the processes
     * report them); zeros for a parameter no op differentiates.
     */
    public Map<String, HostTensor> assembleGradients(TrainingGraph graph, Map<String, HostTensor> local) {
        Map<String, HostTensor> out = new LinkedHashMap<>();
        for (Tensor p : graph.parameters()) {
            Tensor accumulator = graph.accumulator(p);
            out.put(p.name(), accumulator == null ? HostTensor.zeros(p.shape(), p.dtype())
                    : assemble(accumulator, p, local));
        }
        return out;
    }

    /** The names of the device tensors of {@code logical} that live on one of {@code devices}. */
    public List<String> namesOn(Tensor logical, Set<DeviceId> devices) {
        List<Tensor> parts = distributed.shards(logical);
        return java.util.stream.IntStream.range(0, parts.size())
                .filter(r -> devices.contains(distributed.placement(logical).device(r)))
                .mapToObj(r -> parts.get(r).name()).toList();
    }

    /** {@code layoutOf}'s layout and placement, with the parts keyed by the device tensors of {@code keyedBy}. */
    private HostTensor assemble(Tensor layoutOf, Tensor keyedBy, Map<String, HostTensor> local) {
        List<Tensor> parts = distributed.shards(keyedBy);
        Map<DeviceId, HostTensor> byDevice = new LinkedHashMap<>();
        for (int r = 0; r < parts.size(); r++) {
            HostTensor part = local.get(parts.get(r).name());
            if (part == null) {
                throw new IllegalArgumentException("the part " + parts.get(r).name() + " of '" + layoutOf.name()
                        + "' is missing; every process must report the parts of its devices");
            }
            byDevice.put(distributed.placement(keyedBy).device(r), part);
        }
        return HostSharding.assemble(byDevice, distributed.placement(layoutOf), distributed.layout(layoutOf));
    }
}
