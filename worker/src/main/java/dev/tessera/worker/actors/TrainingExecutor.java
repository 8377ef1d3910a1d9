package dev.tessera.worker.actors;

import dev.tessera.api.Inference;
import dev.tessera.api.Model;
import dev.tessera.runtime.trace.Trace;
import dev.tessera.tensor.HostTensor;
import dev.tessera.worker.exec.StepResult;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What a training loop needs of an executor, whether the graph runs on one device
 * ({@link ActorExecutor}) or laid out by SBP over several (data, tensor and pipeline stages,
 * {@link ParallelExecutor}). Batches, parameters and optimizer state are always the logical,
 * whole tensors keyed by name, so checkpoints do not depend on the layout.
 */
public interface TrainingExecutor extends AutoCloseable {

    /**
     * One training iteration per element of {@code batchesPerIteration}.
     *
     * @param batchesPerIteration per iteration, the micro-batches keyed by input name
     * @param learningRates the learning rate of each of these iterations
     */
    List<StepResult> run(List<List<Map<String, HostTensor>>> batchesPerIteration, double[] learningRates);

    /** Iterations completed so far. */
    long iteration();

    /** Current parameter values by name (copies). */
    Map<String, HostTensor> parameters();

    /** Current optimizer state by name (copies). */
    Map<String, HostTensor> optimizerState();

    /** Continues from saved values; every parameter and state tensor must be present. */
    void restore(Map<String, HostTensor> parameters, Map<String, HostTensor> optimizerState, long iteration);

    /** Forward-only evaluation of {@code model} with the current weights. */
    Inference inference(Model model);

    /** The trace of the last run, when tracing was asked for. */
    Optional<Trace> lastTrace();

    @Override
    void close();
}
