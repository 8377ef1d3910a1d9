package dev.tessera.worker.exec;

import dev.tessera.api.Inference;
import dev.tessera.api.Model;
import dev.tessera.runtime.trace.Trace;
import dev.tessera.tensor.HostTensor;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What a training loop and the equivalence tests need of an executor: the sequential reference
 * ({@link ReferenceExecutor}), and the actor runtime on one device or laid out by SBP over
 * several (data, tensor and pipeline stages; {@code dev.tessera.worker.actors.ParallelExecutor}).
 * Batches, parameters, gradients and optimizer state are always the logical, whole tensors keyed
 * by name, so checkpoints and comparisons do not depend on the layout.
 */
public interface TrainingExecutor extends AutoCloseable {

    /**
     * One training iteration per element of {@code batchesPerIteration}.
     *
     * @param batchesPerIteration per iteration, the micro-batches keyed by input name
     * @param learningRates the learning rate of each of these iterations
     * @throws NonFiniteException if a loss or the gradient norm is NaN or infinite; the iterations
     *     before it are kept, {@link #iteration()} is the failing one, and its update did not happen
     * @throws KernelException if a kernel fails
     * @throws IllegalArgumentException if an input is missing or has the wrong shape or dtype, or
     *     the learning rates do not match the iterations
     */
    List<StepResult> run(List<List<Map<String, HostTensor>>> batchesPerIteration, double[] learningRates);

    /** One iteration; {@link #run} several at once may be cheaper. */
    default StepResult step(List<Map<String, HostTensor>> microBatches, double learningRate) {
        return run(List.of(microBatches), new double[] {learningRate}).get(0);
    }

    /**
     * Forward and backward over the micro-batches without updating: the gradient of the mean loss
     * for every parameter, keyed by parameter name (zeros for a parameter no op differentiates).
     */
    Map<String, HostTensor> gradients(List<Map<String, HostTensor>> microBatches);

    /** Iterations completed so far. */
    long iteration();

    /** Current parameter values by name (copies). */
    Map<String, HostTensor> parameters();

    /** Current optimizer state by name (copies). */
    Map<String, HostTensor> optimizerState();

    /**
     * Continues from saved values.
     *
     * @throws IllegalArgumentException naming the tensor when a parameter or state tensor is
     *     missing or has another shape (a checkpoint of another model is refused, not half-loaded)
     */
    void restore(Map<String, HostTensor> parameters, Map<String, HostTensor> optimizerState, long iteration);

    /** Forward-only evaluation of {@code model} with the current weights. */
    Inference inference(Model model);

    /** What each device sent to the others, counted and planned; empty for an executor without devices. */
    default Optional<Traffic> traffic() {
        return Optional.empty();
    }

    /** Each device's register memory, measured peak and allocated; empty for an executor without registers. */
    default Optional<RegisterUse> registerUse() {
        return Optional.empty();
    }

    /** The trace of the last run, when tracing was asked for; empty for executors that do not trace. */
    default Optional<Trace> lastTrace() {
        return Optional.empty();
    }

    @Override
    void close();
}
