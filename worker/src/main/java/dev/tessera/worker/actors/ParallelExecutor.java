package dev.tessera.worker.actors;

import dev.tessera.api.Inference;
import dev.tessera.api.Model;
import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.graph.Op;
import dev.tessera.graph.ParameterInit;
import dev.tessera.graph.Tensor;
import dev.tessera.lowering.DistributedTraining;
import dev.tessera.plan.compile.PlanCompiler;
import dev.tessera.plan.compile.PlanMemory;
import dev.tessera.plan.compile.PlanTraffic;
import dev.tessera.proto.plan.PlanProto;
import dev.tessera.runtime.plan.Device;
import dev.tessera.runtime.plan.Plan;
import dev.tessera.runtime.trace.Trace;
import dev.tessera.sbp.DeviceId;
import dev.tessera.sbp.NdSbp;
import dev.tessera.sbp.Placement;
import dev.tessera.sbp.boxing.HostSharding;
import dev.tessera.sbp.infer.CostModel;
import dev.tessera.tensor.HostTensor;
import dev.tessera.worker.exec.BatchCheck;
import dev.tessera.worker.exec.ForwardInference;
import dev.tessera.worker.exec.KernelException;
import dev.tessera.worker.exec.NonFiniteException;
import dev.tessera.worker.exec.ReferenceExecutor;
import dev.tessera.worker.exec.RegisterUse;
import dev.tessera.worker.exec.StepResult;
import dev.tessera.worker.exec.TrainingExecutor;
import dev.tessera.worker.exec.Traffic;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.UnaryOperator;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The executor of the actor runtime, on one device or many: trains a training graph laid out over
 * one or several virtual devices (data, tensor and pipeline stages; a model split by hand is
 * stages of one device each; {@link #onOneDevice} all of it on 0:0). The lowered physical graph
 * ({@link DistributedTraining}) runs on a per-device engine, one device per rank of each
 * placement, and this executor is the logical view at its edges, what the trainer and the
 * checkpoints see whatever the layout. Batches are cut into each device's part of every input;
 * parameters start from the same values as on one device (initialized whole, then sharded);
 * {@link #parameters()}, {@link #optimizerState()} and {@link #gradients} assemble the devices'
 * parts back, checking that replicas agree. On one device it computes exactly what
 * {@link ReferenceExecutor} computes, bit for bit, and its errors name the logical ops and
 * tensors as the reference's do; on several they name each device's op ({@code fc1.matmul@0:1}).
 */
public final class ParallelExecutor implements TrainingExecutor {
    private static final DeviceId ONE_DEVICE = new DeviceId(0, 0);
    private final DistributedTraining distributed;
    private final LogicalShards shards;
    private final TrainingGraph graph;
    private final ActorExecutor physical;
    private final ActorExecutorOptions options;
    private final long seed;
    private final Map<Tensor, INDArray> inferenceWeights = new LinkedHashMap<>();

    /** On one device, 0:0, with default options: as {@link ReferenceExecutor} trains, on the actor runtime. */
    public static ParallelExecutor onOneDevice(TrainingGraph graph, long seed) {
        return onOneDevice(graph, seed, ActorExecutorOptions.defaults());
    }

    /**
     * Every op of {@code graph} on device 0:0; parameters initialized from their initializers with
     * {@code seed}, as the reference executor does.
     */
    public static ParallelExecutor onOneDevice(TrainingGraph graph, long seed, ActorExecutorOptions options) {
        Placement device = Placement.of(List.of(ONE_DEVICE), 1);
        return new ParallelExecutor(DistributedTraining.plan(graph, device, Map.of(), CostModel.standard()), seed,
                options);
    }

    /** @param options register quotas, tracing and kernels; the devices are the lowering's */
    public ParallelExecutor(DistributedTraining distributed, long seed, ActorExecutorOptions options) {
        this(distributed, seed, options, UnaryOperator.identity());
    }

    /**
     * Runs the compiled plan as {@code adjust} changes it, e.g. with an action order per device
     * that a test writes or edits by hand.
     */
    ParallelExecutor(DistributedTraining distributed, long seed, ActorExecutorOptions options,
                     UnaryOperator<PlanProto> adjust) {
        this.distributed = distributed;
        this.shards = new LogicalShards(distributed);
        this.graph = distributed.logical();
        this.options = options;
        this.seed = seed;
        Map<String, Integer> stages = physicalStages(distributed, options.stageOfOp());
        this.physical = new ActorExecutor(distributed.physical(), seed, options,
                withUpdate -> adjust.apply(PlanCompiler.compile(distributed, ActorExecutor.planOptions(options,
                        withUpdate, stages))));
        Map<String, HostTensor> initial = new LinkedHashMap<>();
        for (Tensor p : graph.parameters()) {
            initial.put(p.name(), ParameterInit.materialize(p, seed));
        }
        Map<String, HostTensor> zeroState = new LinkedHashMap<>();
        for (Tensor s : graph.optimizerState()) {
            zeroState.put(s.name(), HostTensor.zeros(s.shape(), s.dtype()));
        }
        restore(initial, zeroState, 0);
    }

    /**
     * The plan this executor compiles for {@code distributed} with {@code options}, with or without
     * the update ops: what a coordinator compiles once and cuts into the fragments of a
     * multi-process job, so its processes run exactly what one executor would, and what
     * {@code tessera plan} reads register memory from.
     */
    public static PlanProto compile(DistributedTraining distributed, ActorExecutorOptions options, boolean withUpdate) {
        return PlanCompiler.compile(distributed, ActorExecutor.planOptions(options, withUpdate,
                physicalStages(distributed, options.stageOfOp())));
    }

    /** The stage of each physical op ({@code name@device}) whose logical op has one. */
    private static Map<String, Integer> physicalStages(DistributedTraining distributed, Map<String, Integer> logical) {
        Map<String, Integer> out = new LinkedHashMap<>();
        if (logical.isEmpty()) {
            return out;
        }
        for (Op op : distributed.physical().ops()) {
            int at = op.name().lastIndexOf('@');
            Integer stage = logical.get(at < 0 ? op.name() : op.name().substring(0, at));
            if (stage != null) {
                out.put(op.name(), stage);
            }
        }
        return out;
    }

    public DistributedTraining distributed() {
        return distributed;
    }

    @Override
    public long iteration() {
        return physical.iteration();
    }

    /** The actor plan of all devices. */
    public Plan plan() {
        return physical.plan();
    }

    /** The compiled plan of all devices, as the scheduler's plan compiler made it. */
    public PlanProto compiledPlan() {
        return physical.compiledPlan();
    }

    @Override
    public Optional<Traffic> traffic() {
        List<String> devices = physical.plan().devices().stream().map(Device::name).toList();
        return Optional.of(new Traffic(devices, physical.bytesSent(),
                PlanTraffic.bytesPerIteration(physical.compiledPlan())));
    }

    @Override
    public Optional<RegisterUse> registerUse() {
        List<String> devices = physical.plan().devices().stream().map(Device::name).toList();
        return Optional.of(new RegisterUse(devices, physical.peakRegisterBytes(), physical.heldRegisterBytes(),
                PlanMemory.allocatedRegisterBytes(physical.compiledPlan())));
    }

    @Override
    public Optional<Trace> lastTrace() {
        return physical.lastTrace();
    }

    /** With logical batches (whole tensors keyed by input name). */
    @Override
    public List<StepResult> run(List<List<Map<String, HostTensor>>> batchesPerIteration, double[] learningRates) {
        List<List<Map<String, HostTensor>>> local = new ArrayList<>(batchesPerIteration.size());
        for (List<Map<String, HostTensor>> iteration : batchesPerIteration) {
            BatchCheck.check(graph, iteration, graph.options().microBatches());
            local.add(iteration.stream().map(this::shardBatch).toList());
        }
        long first = physical.iteration();
        try {
            return physical.run(local, learningRates);
        } catch (NonFiniteException found) {
            int failed = (int) (found.iteration() - first);
            throw withCulprit(found, batchesPerIteration.get(failed), local.get(failed), learningRates[failed]);
        } catch (KernelException kernel) {
            throw logical(kernel);
        }
    }


    /** The gradient of the mean loss for every parameter, assembled from the devices. For tests. */
    @Override
    public Map<String, HostTensor> gradients(List<Map<String, HostTensor>> microBatches) {
        BatchCheck.check(graph, microBatches, graph.options().microBatches());
        List<Map<String, HostTensor>> localBatches = microBatches.stream().map(this::shardBatch).toList();
        Map<String, HostTensor> local;
        try {
            local = physical.gradients(localBatches);
        } catch (NonFiniteException found) {
            throw withCulprit(found, microBatches, localBatches, 0);
        } catch (KernelException kernel) {
            throw logical(kernel);
        }
        Map<String, HostTensor> out = new LinkedHashMap<>();
        for (Tensor p : graph.parameters()) {
            Tensor accumulator = graph.accumulator(p);
            if (accumulator == null) {
                out.put(p.name(), HostTensor.zeros(p.shape(), p.dtype()));
                continue;
            }
            // the physical executor keys each device's accumulator by that device's parameter
            out.put(p.name(), assemble(accumulator, byDevice(p, local)));
        }
        return out;
    }

    @Override
    public Map<String, HostTensor> parameters() {
        return assembleAll(graph.parameters(), physical.parameters());
    }

    @Override
    public Map<String, HostTensor> optimizerState() {
        return assembleAll(graph.optimizerState(), physical.optimizerState());
    }

    /** Continues from logical values: each device gets its part. */
    @Override
    public void restore(Map<String, HostTensor> parameters, Map<String, HostTensor> optimizerState, long iteration) {
        BatchCheck.requireAll(graph.parameters(), parameters, "parameter");
        BatchCheck.requireAll(graph.optimizerState(), optimizerState, "optimizer state");
        Map<String, HostTensor> localParameters = new LinkedHashMap<>();
        for (Tensor p : graph.parameters()) {
            localParameters.putAll(shard(p, parameters.get(p.name()).convert(p.dtype())));
        }
        Map<String, HostTensor> localState = new LinkedHashMap<>();
        for (Tensor s : graph.optimizerState()) {
            localState.putAll(shard(s, optimizerState.get(s.name()).convert(s.dtype())));
        }
        physical.restore(localParameters, localState, iteration);
    }

    /** Forward-only evaluation with the current weights, assembled on the host. */
    @Override
    public Inference inference(Model model) {
        return ForwardInference.withParameters(model, graph, parameters(), inferenceWeights, options.kernels(),
                this::iteration);
    }

    /**
     * The sink only knows the loss or the gradient norm was not finite; a replay of the failed
     * iteration from the same state (nothing was updated) finds the first op whose output was
     * not. On one device the physical graph is the logical one, renamed, so the reference executor
     * replays the logical graph and the error names its ops and gradient as the reference's does;
     * on several, the devices replay the forward and backward passes with every op checking its
     * outputs, to name the device whose op it was. Only failures pay for this.
     */
    private NonFiniteException withCulprit(NonFiniteException found, List<Map<String, HostTensor>> logicalBatches,
                                           List<Map<String, HostTensor>> localBatches, double learningRate) {
        if (distributed.devices().size() > 1) {
            boolean loss = found.tensorName().equals(distributed.physical().loss().name());
            Optional<NonFiniteOutput> replayed = physical.findNonFinite(localBatches);
            // read after the replay: it recomputed the failed iteration's gradients, which later
            // work of the run may have overwritten (post-validation lets the next iteration start)
            Optional<String> gradient = loss ? Optional.empty() : physical.firstNonFiniteGradient();
            return replayed.map(culprit -> {
                String detail = "micro-batch " + culprit.microBatch() + ", tensor '" + culprit.tensorName() + "'";
                return gradient.isPresent() ? NonFiniteException.gradient(found.iteration(), gradient.get(),
                        culprit.op().name(), detail) : found.withCulprit(culprit.op().name(), detail);
            }).orElse(found);
        }
        try (ReferenceExecutor replay = new ReferenceExecutor(graph, seed, options.kernels())) {
            replay.restore(parameters(), optimizerState(), found.iteration());
            replay.step(logicalBatches, learningRate);
        } catch (NonFiniteException precise) {
            return precise;
        }
        return found;
    }

    /** On one device, the failure of a device's op reported for the logical op it is. */
    private KernelException logical(KernelException kernel) {
        String suffix = "@" + distributed.devices().get(0);
        if (distributed.devices().size() == 1 && kernel.opName().endsWith(suffix)) {
            return kernel.forOp(kernel.opName().substring(0, kernel.opName().length() - suffix.length()));
        }
        return kernel;
    }

    private Map<String, HostTensor> shardBatch(Map<String, HostTensor> batch) {
        Map<String, HostTensor> local = new LinkedHashMap<>();
        for (Tensor input : graph.forward().inputs()) {
            if (distributed.hasShards(input)) {
                local.putAll(shard(input, BatchCheck.value(input, batch)));
            }
        }
        return local;
    }

    /** The parts of a logical value, keyed by the name of each device's tensor. */
    private Map<String, HostTensor> shard(Tensor logical, HostTensor value) {
        return shards.shard(logical, value);
    }

    private Map<String, HostTensor> assembleAll(List<Tensor> tensors, Map<String, HostTensor> local) {
        Map<String, HostTensor> out = new LinkedHashMap<>();
        for (Tensor t : tensors) {
            out.put(t.name(), assemble(t, byDevice(t, local)));
        }
        return out;
    }

    /** The values in {@code local} of the per-device tensors of {@code logical}, keyed by device. */
    private Map<DeviceId, HostTensor> byDevice(Tensor logical, Map<String, HostTensor> local) {
        List<Tensor> parts = distributed.shards(logical);
        Map<DeviceId, HostTensor> byDevice = new LinkedHashMap<>();
        for (int r = 0; r < parts.size(); r++) {
            byDevice.put(distributed.placement(logical).device(r), local.get(parts.get(r).name()));
        }
        return byDevice;
    }

    private HostTensor assemble(Tensor logical, Map<DeviceId, HostTensor> parts) {
        NdSbp layout = distributed.layout(logical);
        return HostSharding.assemble(parts, distributed.placement(logical), layout);
    }

    /** The physical op a logical op became on a device, for tests and traces. */
    public Op physicalOp(String logicalName, DeviceId device) {
        String name = logicalName + "@" + device;
        return distributed.physical().ops().stream().filter(op -> op.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no physical op '" + name + "'"));
    }

    @Override
    public void close() {
        physical.close();
        inferenceWeights.values().forEach(INDArray::close);
        inferenceWeights.clear();
    }
}
