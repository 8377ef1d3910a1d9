package dev.tessera.plan.compile;

import dev.tessera.plan.schedule.PipelineSchedule;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * What the plan compiler needs besides the graph and its devices.
 *
 * @param jobId              the job the plan belongs to; fragments of another job are refused
 * @param planVersion        raised each time the job's plan is recompiled
 * @param registerQuota      registers of every output but a source's (1: stages serialize; 2: a
 *                           producer may run one micro-batch ahead)
 * @param sourceQuota        registers of a source's output, and of the transfers that hand it to
 *                           other devices: micro-batches a source may load ahead of its consumers
 * @param withUpdate         false to compile only the F, B and W ops (gradients without an update)
 * @param collectiveChunkBytes bytes per ring step of a collective
 * @param outputQuotas       registers of the outputs holding these tensors (by physical tensor
 *                           name, e.g. {@code "fc1.matmul@0:1"}), instead of registerQuota or
 *                           sourceQuota; the transfers that move such a tensor to other devices
 *                           get the same quota. Empty by default. A schedule raises these and
 *                           every other quota to what its order holds in flight (GPipe keeps every
 *                           micro-batch's forward activations alive, so they need one register per
 *                           micro-batch); see docs/pipeline-schedules.md.
 * @param schedule           the pipeline schedule whose order every device follows
 *                           ({@link ScheduleOrders}), with the register quotas it needs raised to
 *                           what it holds in flight; empty (the default): no action orders, every
 *                           actor acts as its data arrives
 * @param stageOfOp          the schedule stage of each op, by the name of the op its actor runs
 *                           (e.g. {@code "block1.fc.matmul@0:1"}), for schedules that run several
 *                           stages on one device (interleaved 1F1B, ZB-V) and stages of several
 *                           devices (each follows its ops' schedule device); empty when plan
 *                           device s runs stage s alone
 * @param gradientBucketBytes most bytes of one gradient bucket: the backward's ring all-reduces of
 *                           one peer group and dtype are fused, in the order the backward produces
 *                           them, into buckets of at most this many bytes (a larger gradient is a
 *                           bucket alone), each one collective ({@link GradientBuckets}); 0 (what
 *                           {@link #of} gives): one collective per tensor. No buckets are formed
 *                           under a pipeline schedule (a device's order runs one member at a time)
 */
public record PlanOptions(String jobId, long planVersion, int registerQuota, int sourceQuota, boolean withUpdate,
                          long collectiveChunkBytes, Map<String, Integer> outputQuotas,
                          Optional<PipelineSchedule> schedule, Map<String, Integer> stageOfOp,
                          long gradientBucketBytes) {
    /** Bytes per ring step unless told otherwise. */
    public static final long DEFAULT_CHUNK_BYTES = 1 << 20;
    /** The gradient bucket size of {@code parallel.gradient_bucket_bytes} unless a config sets another. */
    public static final long DEFAULT_GRADIENT_BUCKET_BYTES = 25L << 20;

    public PlanOptions {
        if (jobId == null || jobId.isBlank()) {
            throw new IllegalArgumentException("a plan needs a non-blank job id");
        }
        if (planVersion < 0) {
            throw new IllegalArgumentException("the plan version must be at least 0, got " + planVersion);
        }
        if (registerQuota < 1 || sourceQuota < 1) {
            throw new IllegalArgumentException("register quotas must be at least 1, got register quota "
                    + registerQuota + " and source quota " + sourceQuota + " (runtime.source_prefetch)");
        }
        outputQuotas = outputQuotas == null ? Map.of() : Map.copyOf(outputQuotas);
        outputQuotas.forEach((tensor, quota) -> {
            if (quota < 1) {
                throw new IllegalArgumentException("the register quota of tensor '" + tensor
                        + "' must be at least 1, got " + quota);
            }
        });
        schedule = schedule == null ? Optional.empty() : schedule;
        stageOfOp = stageOfOp == null ? Map.of() : Map.copyOf(stageOfOp);
        if (gradientBucketBytes < 0) {
            throw new IllegalArgumentException("parallel.gradient_bucket_bytes must be at least 0 (0: one collective "
                    + "per gradient), got " + gradientBucketBytes);
        }
        if (collectiveChunkBytes < 0) {
            throw new IllegalArgumentException("the collective chunk size must be at least 0, got "
                    + collectiveChunkBytes);
        }
    }

    /** Job "local", version 0, the given quotas, with the update, default collective settings. */
    public static PlanOptions of(int registerQuota, int sourceQuota) {
        return new PlanOptions("local", 0, registerQuota, sourceQuota, true, DEFAULT_CHUNK_BYTES,
                Map.of(), Optional.empty(), Map.of(), 0);
    }

    public PlanOptions withUpdate(boolean value) {
        return new PlanOptions(jobId, planVersion, registerQuota, sourceQuota, value, collectiveChunkBytes,
                outputQuotas, schedule, stageOfOp, gradientBucketBytes);
    }

    public PlanOptions withJob(String id, long version) {
        return new PlanOptions(id, version, registerQuota, sourceQuota, withUpdate, collectiveChunkBytes,
                outputQuotas, schedule, stageOfOp, gradientBucketBytes);
    }

    /** These options with {@code quota} registers for the outputs holding tensor {@code tensor}. */
    public PlanOptions withOutputQuota(String tensor, int quota) {
        Map<String, Integer> quotas = new LinkedHashMap<>(outputQuotas);
        quotas.put(tensor, quota);
        return new PlanOptions(jobId, planVersion, registerQuota, sourceQuota, withUpdate, collectiveChunkBytes,
                quotas, schedule, stageOfOp, gradientBucketBytes);
    }

    /** These options with every device following {@code value}'s order; null for none. */
    public PlanOptions withSchedule(PipelineSchedule value) {
        return withSchedule(value, Map.of());
    }

    /** The same with the schedule stage of each op (by op name), for several stages per device. */
    public PlanOptions withSchedule(PipelineSchedule value, Map<String, Integer> stages) {
        return new PlanOptions(jobId, planVersion, registerQuota, sourceQuota, withUpdate, collectiveChunkBytes,
                outputQuotas, Optional.ofNullable(value), stages, gradientBucketBytes);
    }

    /** These options with gradient buckets of at most {@code bytes} (0: one collective per gradient). */
    public PlanOptions withGradientBucketBytes(long bytes) {
        return new PlanOptions(jobId, planVersion, registerQuota, sourceQuota, withUpdate, collectiveChunkBytes,
                outputQuotas, schedule, stageOfOp, bytes);
    }

    /** Registers of an output holding {@code tensor}: its own quota if set, else {@code otherwise}. */
    public int quotaOf(String tensor, int otherwise) {
        return outputQuotas.getOrDefault(tensor, otherwise);
    }
}
