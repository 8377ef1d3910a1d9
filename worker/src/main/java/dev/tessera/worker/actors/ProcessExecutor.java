package dev.tessera.worker.actors;

import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.graph.ParameterInit;
import dev.tessera.graph.Tensor;
import dev.tessera.lowering.DistributedTraining;
import dev.tessera.proto.plan.ActorKind;
import dev.tessera.proto.plan.ActorProto;
import dev.tessera.proto.plan.DeviceProto;
import dev.tessera.proto.plan.SinkRole;
import dev.tessera.runtime.trace.Trace;
import dev.tessera.sbp.DeviceId;
import dev.tessera.tensor.HostTensor;
import dev.tessera.worker.exec.BatchCheck;
import dev.tessera.worker.exec.NonFiniteException;
import dev.tessera.worker.exec.StepResult;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * One worker process's share of a multi-process job: runs its fragments of the coordinator's
 * plans ({@link ProcessFragments}) on the actor runtime, its remote edges and collectives over
 * the tensor transport, on the devices it owns. Every process is given the same logical batches
 * and keeps only its devices' parts; it reports the parts of parameters, optimizer state and
 * gradients its devices hold (keyed by the device tensors' names), which the coordinator
 * assembles with {@link LogicalShards}. Losses and gradient norms are those its sinks recorded:
 * exactly one process records each ({@link #recordsLoss}, {@link #recordsGradientNorm}).
 *
 * <p>A failure in this process (a kernel, a transport time-out) fails its run; the other
 * processes' runs then wait on their transport, so the coordinator ends the job. A non-finite loss
 * or norm instead stops the run with that iteration's updates undone ({@link #run} throws the
 * sink's finding); the coordinator then makes the others stop there too ({@link #abandonRun}) and
 * every process replays the iteration together ({@link #findNonFinite}).
 */
public final class ProcessExecutor implements AutoCloseable {
    private final TrainingGraph graph;
    private final ActorExecutor physical;
    private final LogicalShards shards;
    private final DistributedTraining distributed;
    private final Set<DeviceId> devices = new HashSet<>();
    private final boolean recordsLoss;
    private final boolean recordsGradientNorm;

    /**
     * Parameters start from their initializers with {@code seed}, as on one device, and each
     * device keeps its part.
     *
     * @throws dev.tessera.plan.fragment.InvalidFragmentException when a fragment is not this process's
     * @throws IllegalArgumentException when a fragment names an op or tensor {@code distributed} lacks
     */
    public ProcessExecutor(DistributedTraining distributed, long seed, ActorExecutorOptions options,
                           ProcessFragments fragments) {
        this.distributed = distributed;
        this.graph = distributed.logical();
        this.shards = new LogicalShards(distributed);
        for (DeviceProto device : fragments.training().getDevicesList()) {
            devices.add(new DeviceId(device.getNode(), device.getDevice()));
        }
        boolean loss = false;
        boolean norm = false;
        for (ActorProto actor : fragments.training().getActorsList()) {
            if (actor.getKind() == ActorKind.SINK) {
                loss |= actor.getSink().getRole() == SinkRole.LOSS;
                norm |= actor.getSink().getRole() == SinkRole.GRADIENT_NORM;
            }
        }
        this.recordsLoss = loss;
        this.recordsGradientNorm = norm;
        this.physical = new ActorExecutor(distributed.physical(), seed, options, fragments);
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

    /** Whether this process's sinks record the loss (the mean of each iteration's micro-batches). */
    public boolean recordsLoss() {
        return recordsLoss;
    }

    /** Whether this process's sinks record the gradient norm. */
    public boolean recordsGradientNorm() {
        return recordsGradientNorm;
    }

    public long iteration() {
        return physical.iteration();
    }

    /**
     * Runs this process's part of one iteration per element of {@code batchesPerIteration}
     * (logical batches, the same in every process). A loss or norm this process does not record
     * is NaN in the results.
     */
    public List<StepResult> run(List<List<Map<String, HostTensor>>> batchesPerIteration, double[] learningRates) {
        List<List<Map<String, HostTensor>>> local = batchesPerIteration.stream()
                .map(iteration -> {
                    BatchCheck.check(graph, iteration, graph.options().microBatches());
                    return iteration.stream().map(this::shardBatch).toList();
                }).toList();
        return physical.run(local, learningRates).stream()
                .map(r -> new StepResult(recordsLoss ? r.loss() : Double.NaN,
                        recordsGradientNorm ? r.gradNorm() : Double.NaN)).toList();
    }

    /**
     * Another process stopped its run at {@code peer}'s iteration: a run of this process waiting
     * for its tensors (now or later) stops there too, throwing {@code peer} from {@link #run} with
     * that iteration's updates undone. Any thread may call it; it lasts until the next restore.
     */
    public void abandonRun(NonFiniteException peer) {
        physical.abandonRemoteReceives(peer.iteration(), peer);
    }

    /** The accumulated gradients of this process's devices without updating, keyed by each device's parameter. */
    public Map<String, HostTensor> localGradients(List<Map<String, HostTensor>> microBatches) {
        BatchCheck.check(graph, microBatches, graph.options().microBatches());
        Map<String, HostTensor> all = physical.gradients(microBatches.stream().map(this::shardBatch).toList());
        return own(graph.parameters(), all);
    }

    /**
     * What this process saw of a non-finite iteration: its earliest op that wrote a NaN or an
     * infinity and the first of its devices' gradients that is not finite. Positions are in the
     * physical graph's orders, which every process shares, so the coordinator can pick the
     * earliest over all processes as one executor would.
     *
     * @param microBatch   the culprit's micro-batch, -1 when every op of this process wrote finite values
     * @param opIndex      the culprit's index in the physical graph's op order
     * @param gradientIndex the gradient's parameter in the physical graph's parameter order, -1 when none
     */
    public record NonFiniteReplay(int microBatch, int opIndex, String opName, String tensorName, int gradientIndex,
                                  String gradientName) {
    }

    /**
     * Replays the gradients-only fragment of the current iteration with every op checking its
     * outputs ({@link ActorExecutor#findNonFinite}); every process must replay together, since
     * fragments exchange tensors. Changes nothing but the gradient accumulators.
     */
    public NonFiniteReplay findNonFinite(List<Map<String, HostTensor>> microBatches) {
        BatchCheck.check(graph, microBatches, graph.options().microBatches());
        Optional<NonFiniteOutput> culprit = physical.findNonFinite(microBatches.stream().map(this::shardBatch).toList());
        int gradient = physical.firstNonFiniteGradientHeld();
        String gradientName = gradient < 0 ? ""
                : distributed.physical().accumulator(distributed.physical().parameters().get(gradient)).name();
        return culprit.map(found -> new NonFiniteReplay(found.microBatch(),
                distributed.physical().ops().indexOf(found.op()), found.op().name(), found.tensorName(), gradient,
                gradientName)).orElse(new NonFiniteReplay(-1, -1, "", "", gradient, gradientName));
    }

    /** This process's devices' parts of every parameter, keyed by device tensor name. */
    public Map<String, HostTensor> localParameters() {
        return own(graph.parameters(), physical.parameters());
    }

    /** This process's devices' parts of the optimizer state. */
    public Map<String, HostTensor> localOptimizerState() {
        return own(graph.optimizerState(), physical.optimizerState());
    }

    /** Continues from logical values (a checkpoint): each of this process's devices takes its part. */
    public void restore(Map<String, HostTensor> parameters, Map<String, HostTensor> optimizerState, long iteration) {
        BatchCheck.requireAll(graph.parameters(), parameters, "parameter");
        BatchCheck.requireAll(graph.optimizerState(), optimizerState, "optimizer state");
        Map<String, HostTensor> localParameters = new LinkedHashMap<>();
        for (Tensor p : graph.parameters()) {
            localParameters.putAll(shards.shard(p, parameters.get(p.name()).convert(p.dtype())));
        }
        Map<String, HostTensor> localState = new LinkedHashMap<>();
        for (Tensor s : graph.optimizerState()) {
            localState.putAll(shards.shard(s, optimizerState.get(s.name()).convert(s.dtype())));
        }
        physical.restore(localParameters, localState, iteration);
    }

    /** The actions of the last run on this process's devices, when the options ask for tracing. */
    public Optional<Trace> lastTrace() {
        return physical.lastTrace();
    }

    /**
     * Per device of the plan, by plan device index, the most register bytes in use at once over every
     * run so far (zero for other processes' devices).
     */
    public long[] peakRegisterBytes() {
        return physical.peakRegisterBytes();
    }

    /** Per device of the plan, the register buffers it holds (zero for other processes' devices). */
    public long[] heldRegisterBytes() {
        return physical.heldRegisterBytes();
    }

    /** Bytes each device of the plan sent since the start, by plan device index (zero for other processes' devices). */
    public long[] bytesSent() {
        return physical.bytesSent();
    }

    private Map<String, HostTensor> own(List<Tensor> logical, Map<String, HostTensor> all) {
        Map<String, HostTensor> out = new LinkedHashMap<>();
        for (Tensor t : logical) {
            for (String name : shards.namesOn(t, devices)) {
                out.put(name, all.get(name));
            }
        }
        return out;
    }

    private Map<String, HostTensor> shardBatch(Map<String, HostTensor> batch) {
        Map<String, HostTensor> local = new LinkedHashMap<>();
        for (Tensor input : graph.forward().inputs()) {
            if (distributed.hasShards(input)) {
                local.putAll(shards.shard(input, BatchCheck.value(input, batch)));
            }
        }
        return local;
    }

    @Override
    public void close() {
        physical.close();
    }
}
