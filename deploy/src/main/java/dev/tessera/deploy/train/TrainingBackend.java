package dev.tessera.deploy.train;

import dev.tessera.api.Inference;
import dev.tessera.api.Model;
import dev.tessera.runtime.trace.Trace;
import dev.tessera.runtime.trace.TraceTimeline;
import dev.tessera.tensor.HostTensor;
import dev.tessera.worker.exec.RegisterUse;
import dev.tessera.worker.exec.StepResult;
import dev.tessera.worker.exec.Traffic;
import dev.tessera.worker.exec.TrainingExecutor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What the training loop ({@link Trainer}) drives: the executor in this JVM
 * ({@link #inThisProcess}), or the worker processes of a multi-process job
 * ({@code dev.tessera.deploy.launch.ProcessJob}). Values are logical, whole tensors keyed by
 * name, as {@link TrainingExecutor}'s, so the loop, its logs and its checkpoints are one code path
 * for both.
 */
public interface TrainingBackend extends AutoCloseable {

    /**
     * Whether the backend draws each iteration's batches itself (the workers of a multi-process
     * job read their own data, so no batch passes the coordinator); when false the loop draws
     * them and passes them to {@link #run}.
     */
    boolean drawsOwnBatches();

    /**
     * One training iteration per learning rate; iteration i reads the batches
     * {@code firstBatch + i * micro_batches + j}.
     *
     * @param batches the drawn batches when {@link #drawsOwnBatches} is false, else null
     */
    List<StepResult> run(long firstBatch, List<List<Map<String, HostTensor>>> batches, double[] learningRates);

    Map<String, HostTensor> parameters();

    Map<String, HostTensor> optimizerState();

    void restore(Map<String, HostTensor> parameters, Map<String, HostTensor> optimizerState, long iteration);

    Inference inference(Model model);

    Optional<Traffic> traffic();

    Optional<RegisterUse> registerUse();

    /**
     * Every traced run so far on one timeline (in this JVM one row of the executor's devices; with
     * processes a row per worker, its events moved onto this JVM's clock), or empty when the
     * backend does not trace.
     */
    Optional<TraceTimeline> trace();

    @Override
    void close();

    /** The executor of this JVM, given the batches the loop draws. */
    static TrainingBackend inThisProcess(TrainingExecutor executor) {
        List<Trace> traces = new ArrayList<>();
        return new TrainingBackend() {
            @Override
            public boolean drawsOwnBatches() {
                return false;
            }

            @Override
            public List<StepResult> run(long firstBatch, List<List<Map<String, HostTensor>>> batches,
                                        double[] learningRates) {
                List<StepResult> results = executor.run(batches, learningRates);
                executor.lastTrace().ifPresent(traces::add);
                return results;
            }

            @Override
            public Map<String, HostTensor> parameters() {
                return executor.parameters();
            }

            @Override
            public Map<String, HostTensor> optimizerState() {
                return executor.optimizerState();
            }

            @Override
            public void restore(Map<String, HostTensor> parameters, Map<String, HostTensor> optimizerState,
                                long iteration) {
                executor.restore(parameters, optimizerState, iteration);
            }

            @Override
            public Inference inference(Model model) {
                return executor.inference(model);
            }

            @Override
            public Optional<Traffic> traffic() {
                return executor.traffic();
            }

            @Override
            public Optional<RegisterUse> registerUse() {
                return executor.registerUse();
            }

            @Override
            public Optional<TraceTimeline> trace() {
                return traces.isEmpty() ? Optional.empty() : Optional.of(TraceTimeline.of(traces));
            }

            @Override
            public void close() {
                executor.close();
            }
        };
    }
}
