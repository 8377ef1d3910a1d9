package dev.tessera.worker.actors;

import dev.tessera.api.Inference;
import dev.tessera.api.Model;
import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.graph.ParameterInit;
import dev.tessera.graph.Tensor;
import dev.tessera.graph.TensorKind;
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
import dev.tessera.sbp.DeviceId;
import dev.tessera.tensor.HostTensor;
import dev.tessera.worker.exec.BatchCheck;
import dev.tessera.worker.exec.ForwardInference;
import dev.tessera.worker.exec.HostTensors;
import dev.tessera.worker.exec.KernelException;
import dev.tessera.worker.exec.NonFiniteException;
import dev.tessera.worker.exec.ReferenceExecutor;
import dev.tessera.worker.exec.StepResult;
import dev.tessera.worker.exec.TrainingExecutor;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Trains a {@link TrainingGraph} on the actor runtime: the graph is compiled once into a plan
 * (the scheduler's {@link PlanCompiler}), bound to kernels ({@link PlanBinding}), and each
 * {@link #run} executes several iterations in one run of
 * the actor system (starting one costs tens of milliseconds). On one device it computes
 * exactly what {@link ReferenceExecutor} computes, bit for bit: the same kernels on the same
 * buffers in an order the plan's edges make equivalent. Parameters and optimizer state live in
 * this executor, shared by every device of the JVM, keyed by the names of the graph it runs:
 * under {@link ParallelExecutor} that is the physical graph, whose tensors are each device's part.
 */
public final class ActorExecutor implements TrainingExecutor {
    private final TrainingGraph graph;
    private final long seed;
    private final ActorExecutorOptions options;
    private final Map<Tensor, INDArray> persistent = new LinkedHashMap<>();
    private final Set<Tensor> accumulators = new HashSet<>();
    private final ActorRuntime runtime = ActorRuntime.inProcess();
    private final RunState run = new RunState();
    private final PlanCompilation compilation;
    private final PlanBinding.Bound training;
    private PlanBinding.Bound gradientsOnly;
    private long iteration;
    private Trace lastTrace;

    /** Compiles the executor's graph into a plan, with or without the update ops. */
    @FunctionalInterface
    interface PlanCompilation {
        PlanProto compile(boolean withUpdate);
    }

    public ActorExecutor(TrainingGraph graph, long seed) {
        this(graph, seed, ActorExecutorOptions.defaults());
    }

    /**
     * On one device, 0:0. Initializes every parameter from its initializer with {@code seed}, as
     * the reference executor does. Several devices run a layout: {@link ParallelExecutor}.
     */
    public ActorExecutor(TrainingGraph graph, long seed, ActorExecutorOptions options) {
        this(graph, seed, options, localCompilation(graph, options));
    }

    /** Runs the plans {@code compilation} compiles from {@code graph} (e.g. a lowered physical graph's). */
    ActorExecutor(TrainingGraph graph, long seed, ActorExecutorOptions options, PlanCompilation compilation) {
        this.graph = graph;
        this.compilation = compilation;
        this.seed = seed;
        this.options = options;
        for (Tensor p : graph.parameters()) {
            persistent.put(p, HostTensors.toNd4j(ParameterInit.materialize(p, seed)));
            Tensor accumulator = graph.accumulator(p);
            if (accumulator != null) {
                accumulators.add(accumulator);
            }
        }
        this.training = compile(true);
    }

    /** Every op on device 0:0 of this JVM. */
    private static PlanCompilation localCompilation(TrainingGraph graph, ActorExecutorOptions options) {
        DeviceId device = new DeviceId(0, 0);
        return withUpdate -> PlanCompiler.compile(graph, List.of(device), op -> device, planOptions(options, withUpdate));
    }

    static PlanOptions planOptions(ActorExecutorOptions options, boolean withUpdate) {
        return PlanOptions.of(options.registerQuota(), options.sourceQuota()).withUpdate(withUpdate);
    }

    private PlanBinding.Bound compile(boolean withUpdate) {
        return new PlanBinding(graph, persistent, accumulators, run, options.kernels())
                .bind(compilation.compile(withUpdate));
    }

    public TrainingGraph graph() {
        return graph;
    }

    /** Iterations completed so far. */
    @Override
    public long iteration() {
        return iteration;
    }

    /** The bound training plan: its actors, devices and edges (e.g. to print or inspect). */
    public Plan plan() {
        return training.plan();
    }

    /** The compiled training plan, as the scheduler's plan compiler made it. */
    public PlanProto compiledPlan() {
        return training.compiled();
    }

    /** The trace of the last run, when the options ask for tracing. */
    @Override
    public Optional<Trace> lastTrace() {
        return Optional.ofNullable(lastTrace);
    }

    /**
     * Runs one training iteration per element of {@code batchesPerIteration}, all in one run of
     * the actor system.
     *
     * @param batchesPerIteration per iteration, exactly {@code options().microBatches()} batches keyed by input name
     * @param learningRates       the learning rate of each of these iterations
     * @throws NonFiniteException if a loss or the gradient norm is NaN or infinite; the iterations
     *     before it are kept, {@link #iteration()} is the failing one, and its update did not happen
     * @throws KernelException if a kernel fails
     * @throws IllegalArgumentException if an input is missing or has the wrong shape or dtype
     */
    @Override
    public List<StepResult> run(List<List<Map<String, HostTensor>>> batchesPerIteration, double[] learningRates) {
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
    @Override
    public Map<String, HostTensor> gradients(List<Map<String, HostTensor>> microBatches) {
        if (gradientsOnly == null) {
            gradientsOnly = compile(false);
        }
        execute(gradientsOnly, List.of(microBatches), new double[] {0});
        Map<String, HostTensor> out = new LinkedHashMap<>();
        for (Tensor p : graph.parameters()) {
            Tensor accumulator = graph.accumulator(p);
            out.put(p.name(), accumulator == null ? HostTensor.zeros(p.shape(), p.dtype())
                    : HostTensors.toHost(persistent.get(accumulator)));
        }
        return out;
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
        } catch (ActionFailedException failure) {
            if (failure.getCause() instanceof NonFiniteException nonFinite) {
                iteration = nonFinite.iteration();
                throw withCulprit(nonFinite, batches.get((int) (nonFinite.iteration() - run.firstIteration)),
                        learningRates[(int) (nonFinite.iteration() - run.firstIteration)]);
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

    /**
     * The sink only knows the loss or the gradient norm was not finite; the reference executor,
     * replaying the failed iteration from the same state (nothing was updated), finds the first
     * op whose output was not and the gradient that was not. Only failures pay for this.
     */
    private NonFiniteException withCulprit(NonFiniteException found, List<Map<String, HostTensor>> batches,
                                           double learningRate) {
        try (ReferenceExecutor replay = new ReferenceExecutor(graph, seed, options.kernels())) {
            replay.restore(parameters(), optimizerState(), iteration);
            replay.step(batches, learningRate);
        } catch (NonFiniteException precise) {
            return precise;
        }
        return found;
    }

    /** Current parameter values by name (copies). */
    @Override
    public Map<String, HostTensor> parameters() {
        Map<String, HostTensor> out = new LinkedHashMap<>();
        for (Tensor p : graph.parameters()) {
            out.put(p.name(), HostTensors.toHost(persistent.get(p)));
        }
        return out;
    }

    /** Current optimizer state (momentum or Adam moments) by name (copies). */
    @Override
    public Map<String, HostTensor> optimizerState() {
        Map<String, HostTensor> out = new LinkedHashMap<>();
        for (Tensor s : graph.optimizerState()) {
            out.put(s.name(), HostTensors.toHost(persistent.get(s)));
        }
        return out;
    }

    /**
     * Continues from saved values: every parameter and state tensor must be present with its
     * shape, so a checkpoint of another model is refused rather than half-loaded.
     */
    @Override
    public void restore(Map<String, HostTensor> parameters, Map<String, HostTensor> optimizerState, long iteration) {
        BatchCheck.requireAll(graph.parameters(), parameters, "parameter");
        BatchCheck.requireAll(graph.optimizerState(), optimizerState, "optimizer state");
        for (Tensor p : graph.parameters()) {
            HostTensors.copyInto(parameters.get(p.name()), persistent.get(p));
        }
        for (Tensor s : graph.optimizerState()) {
            HostTensors.copyInto(optimizerState.get(s.name()), persistent.get(s));
        }
        this.iteration = iteration;
    }

    /** Overwrites one parameter. */
    public void setParameter(String name, HostTensor value) {
        Tensor p = graph.forward().tensor(name);
        if (p.kind() != TensorKind.PARAMETER) {
            throw new IllegalArgumentException("'" + name + "' is not a parameter");
        }
        HostTensors.copyInto(value.convert(p.dtype()), persistent.get(p));
    }

    /** Forward-only evaluation of {@code model} with this executor's current weights. */
    @Override
    public Inference inference(Model model) {
        return new ForwardInference(model, graph.forward().store(), persistent, graph.loss().dtype(),
                options.kernels(), this::iteration);
    }

    @Override
    public void close() {
        for (PlanBinding.Bound compiled : gradientsOnly == null ? List.of(training) : List.of(training, gradientsOnly)) {
            compiled.actions().forEach(action -> {
                if (action instanceof OpAction op) {
                    op.close();
                } else if (action instanceof SourceAction source) {
                    source.close();
                }
            });
        }
        persistent.values().forEach(INDArray::close);
        persistent.clear();
    }
}
