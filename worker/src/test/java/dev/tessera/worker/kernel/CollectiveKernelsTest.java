package dev.tessera.worker.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.graph.DType;
import dev.tessera.graph.Graph;
import dev.tessera.graph.Op;
import dev.tessera.graph.Phase;
import dev.tessera.graph.Shape;
import dev.tessera.graph.Tensor;
import dev.tessera.graph.TensorKind;
import dev.tessera.graph.TensorType;
import dev.tessera.lowering.CollectiveOps;
import dev.tessera.sbp.DeviceId;
import dev.tessera.sbp.NdSbp;
import dev.tessera.sbp.Placement;
import dev.tessera.sbp.RandomLayouts;
import dev.tessera.sbp.Sbp;
import dev.tessera.sbp.Sharding;
import dev.tessera.sbp.boxing.Boxing;
import dev.tessera.sbp.boxing.BoxingPlan;
import dev.tessera.sbp.boxing.HostBoxing;
import dev.tessera.sbp.boxing.HostSharding;
import dev.tessera.tensor.HostTensor;
import dev.tessera.worker.exec.HostTensors;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The collectives as the runtime runs them: a random boxing plan (random shape, 1-3 axis
 * hierarchy, random SBP pair, uneven parts included) expanded into per-member ops and run with
 * the ND4J kernels leaves every device exactly the shard {@link HostBoxing} computes, and the
 * assembled result is the logical tensor.
 */
class CollectiveKernelsTest {
    private static final int CASES = 300;
    private final KernelRegistry kernels = KernelRegistry.standard();

    @Test
    void shouldComputeWhatHostBoxingComputesForRandomPlans() {
        SplittableRandom random = new SplittableRandom(21);
        int checked = 0;
        for (int i = 0; i < CASES; i++) {
            Shape shape = RandomLayouts.shape(random);
            Placement placement = RandomLayouts.placement(random, 0, 3);
            NdSbp from = RandomLayouts.sbp(random, placement.axes(), shape.rank(), true);
            NdSbp to = RandomLayouts.sbp(random, placement.axes(), shape.rank(), true);
            if (RandomLayouts.hasEmptyPart(shape, placement, from) || RandomLayouts.hasEmptyPart(shape, placement, to)) {
                continue; // a layout leaving a device nothing is never chosen (SignatureLifting)
            }
            TensorType type = new TensorType(shape, DType.F64);
            BoxingPlan plan = Boxing.plan("t", type, placement, from, placement, to);
            HostTensor logical = RandomLayouts.tensor(random, shape, DType.F64);
            Map<DeviceId, HostTensor> shards = HostSharding.shard(logical, placement, from, random.nextLong());

            Map<DeviceId, HostTensor> actual = run(plan, placement, shards);

            Map<DeviceId, HostTensor> expected = HostBoxing.apply(plan, shards);
            for (int r = 0; r < placement.size(); r++) {
                DeviceId device = placement.device(r);
                assertEquals(expected.get(device), actual.get(device), plan + "\non " + device);
            }
            if (!to.hasPartialSum() && !from.hasPartialSum()) {
                assertEquals(logical, HostSharding.assemble(actual, placement, to), plan.toString());
            }
            checked++;
        }
        assertTrue(checked >= CASES / 2, "only " + checked + " of " + CASES + " random cases had no empty part");
    }

    /** Expands the plan into ops on a fresh graph and runs them in order, each with its kernel. */
    private Map<DeviceId, HostTensor> run(BoxingPlan plan, Placement placement, Map<DeviceId, HostTensor> shards) {
        Graph graph = new Graph();
        List<Op> ops = new ArrayList<>();
        CollectiveOps collectives = new CollectiveOps(placement.devices(), (name, def, inputs, phase, rank) -> {
            Op op = graph.addOp(name + "@" + rank, def, inputs, phase);
            ops.add(op);
            return op;
        });
        Tensor[] stored = new Tensor[placement.size()];
        Map<Tensor, INDArray> values = new HashMap<>();
        for (int r = 0; r < stored.length; r++) {
            HostTensor shard = shards.get(placement.device(r));
            stored[r] = graph.newTensor("t@" + r, shard.shape(), shard.dtype(), TensorKind.ACTIVATION, null);
            values.put(stored[r], HostTensors.toNd4j(shard));
        }
        Tensor[] result = collectives.box(plan, stored, Phase.FORWARD, false);
        for (Op op : ops) {
            INDArray[] in = op.inputs().stream().map(values::get).toArray(INDArray[]::new);
            INDArray[] out = op.outputs().stream().map(t -> HostTensors.allocate(t.type())).toArray(INDArray[]::new);
            kernels.create(op).run(in, out, new KernelContext(0, 0));
            for (int o = 0; o < out.length; o++) {
                values.put(op.output(o), out[o]);
            }
        }
        Map<DeviceId, HostTensor> out = new LinkedHashMap<>();
        for (int r = 0; r < result.length; r++) {
            assertEquals(Sharding.localShape(plan.type().shape(), placement, plan.to(), r), result[r].shape());
            out.put(placement.device(r), HostTensors.toHost(values.get(result[r])));
        }
        values.values().forEach(INDArray::close);
        return out;
    }
}
