package dev.tessera.worker.actors;

import dev.tessera.plan.schedule.PipelineSchedule;
import dev.tessera.worker.kernel.KernelRegistry;
import java.util.Map;
import java.util.Optional;

/**
 * How an {@link ParallelExecutor} runs a training graph. The devices are not here: they are the
 * placements of the layout the executor runs ({@code parallel.*}: data, tensor and pipeline
 * stages), one single-thread dispatcher per device, in this JVM.
 *
 * @param registerQuota registers per actor output (1: stages serialize; 2: a producer may run
 *                      one micro-batch ahead, at the cost of a second buffer per activation)
 * @param sourceQuota   registers per data source output: how many micro-batches a source may
 *                      load ahead of its consumers. Separate from registerQuota because a
 *                      batch buffer is small next to the activations, and loading ahead hides
 *                      the source's copy behind compute even where the stages serialize.
 * @param trace         record every action; {@link ParallelExecutor#lastTrace()} returns the trace
 * @param kernels       where kernels are looked up
 * @param schedule      the pipeline schedule every device follows ({@code parallel.schedule}): the
 *                      plan compiler expands it into each device's action order and raises the
 *                      register quotas to what that order holds in flight; empty (the default):
 *                      every actor acts as its data arrives
 * @param stageOfOp     the schedule stage of each logical op by name (gradient and update ops
 *                      included), for a schedule with several stages per device (interleaved
 *                      1F1B, ZB-V) or a layout with several devices per stage (data or tensor
 *                      parallel stages); empty when stage s is the layout's device s
 * @param gradientBucketBytes most bytes of one data-parallel gradient bucket
 *                      ({@code parallel.gradient_bucket_bytes}, see
 *                      {@link dev.tessera.plan.compile.PlanOptions#gradientBucketBytes}); 0 (the
 *                      default here): one collective per gradient
 */
public record ActorExecutorOptions(int registerQuota, int sourceQuota, boolean trace, KernelRegistry kernels,
                                   Optional<PipelineSchedule> schedule, Map<String, Integer> stageOfOp,
                                   long gradientBucketBytes) {
    /** Micro-batches a source loads ahead unless told otherwise ({@code runtime.source_prefetch}). */
    public static final int DEFAULT_SOURCE_QUOTA = 2;

    public ActorExecutorOptions {
        if (registerQuota < 1) {
            throw new IllegalArgumentException("the register quota must be at least 1, got " + registerQuota);
        }
        if (sourceQuota < 1) {
            throw new IllegalArgumentException("runtime.source_prefetch (the source register quota) must be at least 1, got "
                    + sourceQuota);
        }
        if (gradientBucketBytes < 0) {
            throw new IllegalArgumentException("parallel.gradient_bucket_bytes must be at least 0, got "
                    + gradientBucketBytes);
        }
        schedule = schedule == null ? Optional.empty() : schedule;
        stageOfOp = stageOfOp == null ? Map.of() : Map.copyOf(stageOfOp);
    }

    /** Register quota 1, sources 2 micro-batches ahead, untraced, the standard kernels. */
    public static ActorExecutorOptions defaults() {
        return new ActorExecutorOptions(1, DEFAULT_SOURCE_QUOTA, false, KernelRegistry.standard(),
                Optional.empty(), Map.of(), 0);
    }

    public ActorExecutorOptions withRegisterQuota(int value) {
        return new ActorExecutorOptions(value, sourceQuota, trace, kernels, schedule, stageOfOp, gradientBucketBytes);
    }

    public ActorExecutorOptions withSourceQuota(int value) {
        return new ActorExecutorOptions(registerQuota, value, trace, kernels, schedule, stageOfOp, gradientBucketBytes);
    }

    public ActorExecutorOptions withTrace(boolean value) {
        return new ActorExecutorOptions(registerQuota, sourceQuota, value, kernels, schedule, stageOfOp, gradientBucketBytes);
    }

    /** These options with {@code value}'s kernels (e.g. a profiling registry) instead of the standard ones. */
    public ActorExecutorOptions withKernels(KernelRegistry value) {
        return new ActorExecutorOptions(registerQuota, sourceQuota, trace, value, schedule, stageOfOp, gradientBucketBytes);
    }

    /** These options with every device following {@code value}'s order; null for none (dataflow). */
    public ActorExecutorOptions withSchedule(PipelineSchedule value) {
        return withSchedule(value, Map.of());
    }

    /** The same with the stage of each logical op, for a schedule with several stages per device. */
    public ActorExecutorOptions withSchedule(PipelineSchedule value, Map<String, Integer> stages) {
        return new ActorExecutorOptions(registerQuota, sourceQuota, trace, kernels, Optional.ofNullable(value),
                stages, gradientBucketBytes);
    }

    /** These options with gradient buckets of at most {@code bytes}; 0 for one collective per gradient. */
    public ActorExecutorOptions withGradientBucketBytes(long bytes) {
        return new ActorExecutorOptions(registerQuota, sourceQuota, trace, kernels, schedule, stageOfOp, bytes);
    }
}
