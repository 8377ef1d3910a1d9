package dev.tessera.worker.actors;

import dev.tessera.runtime.plan.OutputSpec;
import dev.tessera.runtime.plan.ActorSpec;
import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.graph.ParameterInit;
import dev.tessera.graph.Tensor;
import dev.tessera.plan.compile.PlanCompiler;
import dev.tessera.plan.compile.PlanOptions;
import dev.tessera.proto.plan.PlanProto;
import dev.tessera.runtime.ActionFailedException;
import dev.tessera.runtime.ActorAction;
import dev.tessera.runtime.ActorRuntime;
import dev.tessera.runtime.RunOptions;
import dev.tessera.runtime.RunResult;
import dev.tessera.runtime.plan.Plan;
import dev.tessera.runtime.trace.Trace;
import dev.tessera.tensor.HostTensor;
import dev.tessera.worker.exec.BatchCheck;
import dev.tessera.worker.exec.HostTensors;
import dev.tessera.worker.exec.KernelException;
import dev.tessera.worker.exec.NonFiniteException;
import dev.tessera.worker.exec.StepResult;
import dev.tessera.plan.fragment.PlanFragments;
import dev.tessera.plan.fragment.ProcessIdentity;
import dev.tessera.proto.plan.DeviceProto;
import dev.tessera.proto.plan.PlanFragment;
import dev.tessera.sbp.DeviceId;
import dev.tessera.runtime.plan.Device;
import dev.tessera.runtime.transport.InProcessTransport;
import dev.tessera.runtime.transport.SentBytes;
import dev.tessera.graph.Op;
import java.time.Duration;
import java.util.Comparator;
import java.util.HashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The per-device engine under {@link ParallelExecutor}, the one public executor: runs a lowered
 * physical {@link TrainingGraph} on the actor runtime. The graph is compiled once into a plan
 * (the scheduler's {@link PlanCompiler}), bound to kernels ({@link PlanBinding}), and each
 * {@link #run} executes several iterations in one run of the actor runtime, whose actor system
 * and device threads are started by the first run and kept until {@link #close}. On one device it computes exactly what the reference executor computes,
 * bit for bit: the same kernels on the same buffers in an order the plan's edges make
 * equivalent. Parameters and optimizer state live here, shared by every device of the JVM, keyed
 * by the physical tensors' names (each device's part); checking values against the model,
 * finding the op behind a non-finite loss or gradient and inference are the logical view's.
 */
final class ActorExecutor implements AutoCloseable {
    private final TrainingGraph graph;
    private final ActorExecutorOptions options;
    private final Map<Tensor, INDArray> persistent = new LinkedHashMap<>();
    /** The activation buffers of each device, lent to the registers alive at a time. */
    private final RegisterPools pools = new RegisterPools();
    private final Set<Tensor> accumulators = new HashSet<>();
    /**
     * How long one side of a collective's message waits for the other before the run fails: long
     * enough for a peer still computing the rest of its backward pass, short enough that a
     * stopped peer fails the step instead of hanging it.
     */
    static final Duration DELIVERY_TIMEOUT = Duration.ofMinutes(2);

    /** Made with the first plan, with a transfer that counts into the plan's devices' {@link SentBytes}. */
    private ActorRuntime runtime;
    private final RunState run = new RunState();
    /** Carries the collectives' messages between the devices of this JVM; made with the first plan. */
    private InProcessTransport transport;
    private SentBytes sentBytes;
    /** Null for a process of a multi-process job, which binds the fragments it was sent. */
    private final PlanCompilation compilation;
    /** Null when this JVM runs every device of the plan. */
    private final ProcessFragments process;
    private final PlanBinding.Bound training;
    private PlanBinding.Bound gradientsOnly;
    private long iteration;
    private Trace lastTrace;
    /** Per device of the plan, the most register bytes in use at once over every run so far. */
    private long[] peakRegisterBytes;

    /** Compiles the executor's graph into a plan, with or without the update ops. */
    @FunctionalInterface
    interface PlanCompilation {
        PlanProto compile(boolean withUpdate);
    }

    /**
     * Runs the plans {@code compilation} compiles from {@code graph} (a lowered physical graph's),
     * every parameter initialized from its initializer with {@code seed}.
     */
    ActorExecutor(TrainingGraph graph, long seed, ActorExecutorOptions options, PlanCompilation compilation) {
        this(graph, seed, options, compilation, null);
    }

    /**
     * Runs this process's fragments of a multi-process job over {@code process}'s transport; the
     * parameters of every device are initialized, but only this process's devices' are used.
     */
    ActorExecutor(TrainingGraph graph, long seed, ActorExecutorOptions options, ProcessFragments process) {
        this(graph, seed, options, null, process);
    }

    private ActorExecutor(TrainingGraph graph, long seed, ActorExecutorOptions options, PlanCompilation compilation,
                          ProcessFragments process) {
        this.graph = graph;
        this.compilation = compilation;
        this.process = process;
        this.options = options;
        for (Tensor p : graph.parameters()) {
            persistent.put(p, HostTensors.toNd4j(ParameterInit.materialize(p, seed)));
            Tensor accumulator = graph.accumulator(p);
            if (accumulator != null) {
                accumulators.add(accumulator);
            }
        }
        this.training = compile(true);
        this.peakRegisterBytes = new long[training.plan().devices().size()];
    }

    static PlanOptions planOptions(ActorExecutorOptions options, boolean withUpdate) {
        return planOptions(options, withUpdate, Map.of());
    }

    /** @param stageOfOp the schedule stage of each physical op, by name */
    static PlanOptions planOptions(ActorExecutorOptions options, boolean withUpdate, Map<String, Integer> stageOfOp) {
        return PlanOptions.of(options.registerQuota(), options.sourceQuota()).withUpdate(withUpdate)
                .withSchedule(options.schedule().orElse(null), stageOfOp)
                .withGradientBucketBytes(options.gradientBucketBytes());
    }

    private PlanBinding.Bound compile(boolean withUpdate) {
        if (process != null) {
            return bindProcess(withUpdate);
        }
        PlanProto compiled = compilation.compile(withUpdate);
        if (transport == null) {
            List<Device> devices = new ArrayList<>();
            for (DeviceProto device : compiled.getDevicesList()) {
                devices.add(new Device(device.getIndex(), device.getNode() + ":" + device.getDevice()));
            }
            transport = new InProcessTransport(devices, DELIVERY_TIMEOUT);
            sentBytes = new SentBytes(devices.size());
            runtime = new ActorRuntime(new CountingTransfer(sentBytes));
        }
        // this process runs every device: its fragment is the whole plan, checked before binding
        Map<Integer, Integer> process = new HashMap<>();
        List<DeviceId> devices = new ArrayList<>();
        for (DeviceProto device : compiled.getDevicesList()) {
            process.put(device.getIndex(), 0);
            devices.add(new DeviceId(device.getNode(), device.getDevice()));
        }
        PlanFragment fragment = PlanFragments.cut(compiled, process).get(0);
        ProcessIdentity self = new ProcessIdentity(compiled.getJobId(), compiled.getPlanVersion(), 0, devices);
        return new PlanBinding(graph, persistent, accumulators, run, options.kernels(), transport, sentBytes, pools)
                .bind(fragment, self, null);
    }

    private PlanBinding.Bound bindProcess(boolean withUpdate) {
        PlanFragment fragment = withUpdate ? process.training() : process.gradientsOnly();
        if (fragment == null) {
            throw new IllegalStateException("process " + process.self().process() + " was given no fragment of the "
                    + "gradients-only plan; send one with the job to compute gradients");
        }
        if (sentBytes == null) {
            sentBytes = new SentBytes(fragment.getPlanDevicesCount());
            runtime = new ActorRuntime(new CountingTransfer(sentBytes));
        }
        return new PlanBinding(graph, persistent, accumulators, run, options.kernels(), process.transport(), sentBytes, pools)
                .bind(fragment, process.self(), new RemoteEdges(!withUpdate, process.deliveryTimeout()));
    }

    /** The fragment of the training plan this executor runs (the whole plan as one fragment in one process). */
    PlanFragment fragment() {
        return training.fragment();
    }

    /**
     * The bytes each device has sent to other devices since this executor started (the
     * collectives' messages and the transfers' payloads), by device index of the plan.
     */
    long[] bytesSent() {
        List<Device> devices = training.plan().devices();
        long[] bytes = new long[devices.size()];
        for (int d = 0; d < bytes.length; d++) {
            bytes[d] = sentBytes.of(devices.get(d));
        }
        return bytes;
    }

    TrainingGraph graph() {
        return graph;
    }

    /** Iterations completed so far. */
    long iteration() {
        return iteration;
    }

    /** The bound training plan: its actors, devices and edges (e.g. to print or inspect). */
    Plan plan() {
        return training.plan();
    }

    /** The compiled training plan, as the scheduler's plan compiler made it. */
    PlanProto compiledPlan() {
        return training.compiled();
    }

    /** Per device of the plan, the most register bytes in use at once over every run so far. */
    long[] peakRegisterBytes() {
        return peakRegisterBytes.clone();
    }

    /**
     * Per device of the plan, the register bytes it holds: the buffers of its {@link RegisterPool}
     * (lent to the compute actors' registers that are alive at a time, so reused by liveness) and
     * the registers of its other actors (sources, receives, collectives, transfers), one buffer
     * per register as the plan allocates them. Covers every run so far.
     */
    long[] heldRegisterBytes() {
        long[] held = new long[training.plan().devices().size()];
        for (ActorSpec actor : training.plan().actors()) {
            ActorAction action = training.actions().get(actor.id());
            if (action == null || !action.lendsPayloads()) {
                for (OutputSpec output : actor.outputs()) {
                    held[actor.device()] += output.quota() * output.bytes();
                }
            }
        }
        pools.createdBytes().forEach((device, bytes) -> held[device] += bytes);
        return held;
    }

    /** The trace of the last run, when the options ask for tracing. */
    Optional<Trace> lastTrace() {
        return Optional.ofNullable(lastTrace);
    }

    /**
     * Runs one training iteration per element of {@code batchesPerIteration}, all in one run of
     * the actor system.
     *
     * @param batchesPerIteration per iteration, exactly {@code options().microBatches()} batches keyed by input name
     * @param learningRates       the learning rate of each of these iterations
     * @throws NonFiniteException if a loss or the gradient norm is NaN or infinite, as the sink
     *     found it (naming the op that produced that scalar); the iterations before it are kept,
     *     {@link #iteration()} is the failing one, and its update did not happen
     * @throws KernelException if a kernel fails
     * @throws IllegalArgumentException if an input is missing or has the wrong shape or dtype
     */
    List<StepResult> run(List<List<Map<String, HostTensor>>> batchesPerIteration, double[] learningRates) {
        if (batchesPerIteration.isEmpty() || learningRates.length != batchesPerIteration.size()) {
            throw new IllegalArgumentException("expected at least one iteration and one learning rate per iteration, "
                    + "got " + batchesPerIteration.size() + " iterations and " + learningRates.length + " rates");
        }
        execute(training, batchesPerIteration, learningRates);
        List<StepResult> results = new ArrayList<>(batchesPerIteration.size());
        int microBatches = run.microBatches;
        for (int t = 0; t < batchesPerIteration.size(); t++) {
            double total = 0;
            for (int k = 0; k < microBatches; k++) {
                total += run.losses[t * microBatches + k];
            }
            results.add(new StepResult(total / microBatches, run.gradNorms[t]));
        }
        iteration += batchesPerIteration.size();
        return results;
    }


    /**
     * Forward and backward over the micro-batches without updating: the gradient of the mean loss
     * for every parameter, keyed by parameter name. For tests.
     */
    Map<String, HostTensor> gradients(List<Map<String, HostTensor>> microBatches) {
        if (gradientsOnly == null) {
            gradientsOnly = compile(false);
        }
        execute(gradientsOnly, List.of(microBatches), new double[] {0});
        Map<String, HostTensor> out = new LinkedHashMap<>();
        for (Tensor p : graph.parameters()) {
            Tensor accumulator = graph.accumulator(p);
            if (accumulator == null) {
                out.put(p.name(), HostTensor.zeros(p.shape(), p.dtype()));
            } else if (persistent.containsKey(accumulator)) {
                out.put(p.name(), HostTensors.toHost(persistent.get(accumulator)));
            }
        }
        return out;
    }

    /**
     * The accumulated gradient of the first parameter (in graph order) holding a NaN or an
     * infinity after the last run, as the reference names it; empty when every one is finite.
     */
    Optional<String> firstNonFiniteGradient() {
        for (Tensor p : graph.parameters()) {
            Tensor accumulator = graph.accumulator(p);
            if (accumulator != null && HostTensors.hasNonFinite(persistent.get(accumulator))) {
                return Optional.of(accumulator.name());
            }
        }
        return Optional.empty();
    }

    /**
     * The index, in the graph's parameter order, of the first parameter whose accumulated gradient
     * this executor holds (a process holds its devices' only) and has a NaN or an infinity after
     * the last run; -1 when every one it holds is finite.
     */
    int firstNonFiniteGradientHeld() {
        List<Tensor> parameters = graph.parameters();
        for (int i = 0; i < parameters.size(); i++) {
            Tensor accumulator = graph.accumulator(parameters.get(i));
            INDArray held = accumulator == null ? null : persistent.get(accumulator);
            if (held != null && HostTensors.hasNonFinite(held)) {
                return i;
            }
        }
        return -1;
    }

    /**
     * Replays the forward and backward passes of the current iteration on the devices, without
     * updating, every op checking what it wrote: the first op, in the reference's order (earliest
     * micro-batch, then the graph's op order), that wrote a NaN or an infinity, or empty when every
     * op's output was finite (the norm or the update overflowed). Devices run concurrently, so
     * every finding is recorded and the first chosen afterwards, the same whichever device was
     * faster. For naming the op behind a non-finite loss or gradient; nothing is changed but the
     * gradient accumulators.
     */
    Optional<NonFiniteOutput> findNonFinite(List<Map<String, HostTensor>> microBatches) {
        Map<Op, Integer> order = new HashMap<>();
        List<Op> ops = graph.ops();
        for (int i = 0; i < ops.size(); i++) {
            order.put(ops.get(i), i);
        }
        run.nonFinite = new ConcurrentLinkedQueue<>();
        try {
            gradients(microBatches);
            return run.nonFinite.stream().min(Comparator.comparingInt(NonFiniteOutput::microBatch)
                    .thenComparingInt(found -> order.get(found.op())));
        } finally {
            run.nonFinite = null;
        }
    }

    private void execute(PlanBinding.Bound compiled, List<List<Map<String, HostTensor>>> batches, double[] learningRates) {
        int microBatches = graph.options().microBatches();
        for (List<Map<String, HostTensor>> iterationBatches : batches) {
            BatchCheck.check(graph, iterationBatches, microBatches);
        }
        run.start(iteration, microBatches, batches, learningRates);
        RunOptions runOptions = RunOptions.of(batches.size(), microBatches).withTrace(options.trace());
        try {
            RunResult result = runtime.run(compiled.plan(), spec -> compiled.actions().get(spec.id()),
                    runOptions);
            lastTrace = result.trace().orElse(null);
            long[] peaks = result.peakRegisterBytes();
            for (int d = 0; d < Math.min(peaks.length, peakRegisterBytes.length); d++) {
                peakRegisterBytes[d] = Math.max(peakRegisterBytes[d], peaks[d]);
            }
            if (compiled.remote() != null) {
                compiled.remote().awaitSends();
            }
        } catch (ActionFailedException failure) {
            if (failure.getCause() instanceof NonFiniteException nonFinite) {
                iteration = nonFinite.iteration();
                run.rollbacks.undo(iteration);
                throw nonFinite;
            }
            if (failure.getCause() instanceof KernelException kernel) {
                throw kernel;
            }
            throw failure;
        } catch (InterruptedException interrupted) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while training on the actor runtime", interrupted);
        }
    }

    /** Current parameter values by name (copies). */
    Map<String, HostTensor> parameters() {
        Map<String, HostTensor> out = new LinkedHashMap<>();
        for (Tensor p : graph.parameters()) {
            out.put(p.name(), HostTensors.toHost(persistent.get(p)));
        }
        return out;
    }

    /**
     * Current optimizer state (momentum or Adam moments) by name (copies): in a process of a
     * multi-process job, of the tensors its devices' actors hold (the others are never allocated);
     * gradients likewise.
     */
    Map<String, HostTensor> optimizerState() {
        Map<String, HostTensor> out = new LinkedHashMap<>();
        for (Tensor s : graph.optimizerState()) {
            if (persistent.containsKey(s)) {
                out.put(s.name(), HostTensors.toHost(persistent.get(s)));
            }
        }
        return out;
    }

    /**
     * Continues from saved values of every parameter and state tensor, keyed by name; the logical
     * view checked them against the model.
     */
    void restore(Map<String, HostTensor> parameters, Map<String, HostTensor> optimizerState, long iteration) {
        for (Tensor p : graph.parameters()) {
            HostTensors.copyInto(parameters.get(p.name()), persistent.get(p));
        }
        for (Tensor s : graph.optimizerState()) {
            if (persistent.containsKey(s)) {
                HostTensors.copyInto(optimizerState.get(s.name()), persistent.get(s));
            }
        }
        this.iteration = iteration;
        if (training.remote() != null) {
            training.remote().resume();
        }
    }

    /**
     * Fails the training plan's receives from other processes of {@code iteration} or later with
     * {@code reason}, from any thread: another process stopped there. A run blocked on one stops as
     * if this process had found {@code reason} itself, undoing that iteration's updates. Lasts until
     * the next {@link #restore}.
     */
    void abandonRemoteReceives(long iteration, NonFiniteException reason) {
        if (training.remote() != null) {
            training.remote().abandon(iteration, reason);
        }
    }

    @Override
    public void close() {
        // First the actor system, so no action runs while its kernels and buffers are released.
        if (runtime != null) {
            runtime.close();
        }
        for (PlanBinding.Bound compiled : gradientsOnly == null ? List.of(training) : List.of(training, gradientsOnly)) {
            compiled.actions().forEach(action -> {
                if (action instanceof OpAction op) {
                    op.close();
                } else if (action instanceof CollectiveAction collective) {
                    collective.close();
                } else if (action instanceof SourceAction source) {
                    source.close();
                } else if (action instanceof RemoteReceiveAction receive) {
                    receive.close();
                }
            });
        }
        pools.close();
        persistent.values().forEach(INDArray::close);
        persistent.clear();
        if (transport != null) {
            transport.close();
        }
    }
}
