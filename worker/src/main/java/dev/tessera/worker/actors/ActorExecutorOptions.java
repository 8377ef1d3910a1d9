package dev.tessera.worker.actors;

import dev.tessera.worker.kernel.KernelRegistry;

/**
 * How an {@link ActorExecutor} lowers and runs a training graph.
 *
 * @param devices       local virtual devices: one single-thread dispatcher each, in this JVM
 * @param placement     the device of every op
 * @param registerQuota registers per actor output (1: stages serialize; 2: a producer may run
 *                      one micro-batch ahead, at the cost of a second buffer per activation)
 * @param sourceQuota   registers per data source output: how many micro-batches a source may
 *                      load ahead of its consumers. Separate from registerQuota because a
 *                      batch buffer is small next to the activations, and loading ahead hides
 *                      the source's copy behind compute even where the stages serialize.
 * @param trace         record every action; {@link ActorExecutor#lastTrace()} returns the trace
 * @param kernels       where kernels are looked up
 */
public record ActorExecutorOptions(int devices, Placement placement, int registerQuota, int sourceQuota,
                                   boolean trace, KernelRegistry kernels) {
    /** Micro-batches a source loads ahead unless told otherwise ({@code runtime.source_prefetch}). */
    public static final int DEFAULT_SOURCE_QUOTA = 2;

    public ActorExecutorOptions {
        if (devices < 1) {
            throw new IllegalArgumentException("runtime.devices must be at least 1, got " + devices);
        }
        if (registerQuota < 1) {
            throw new IllegalArgumentException("the register quota must be at least 1, got " + registerQuota);
        }
        if (sourceQuota < 1) {
            throw new IllegalArgumentException("runtime.source_prefetch (the source register quota) must be at least 1, got "
                    + sourceQuota);
        }
    }

    /** One device, register quota 1, sources 2 micro-batches ahead, untraced, the standard kernels. */
    public static ActorExecutorOptions defaults() {
        return new ActorExecutorOptions(1, Placement.singleDevice(), 1, DEFAULT_SOURCE_QUOTA, false,
                KernelRegistry.standard());
    }

    public ActorExecutorOptions withDevices(int count, Placement value) {
        return new ActorExecutorOptions(count, value, registerQuota, sourceQuota, trace, kernels);
    }

    public ActorExecutorOptions withRegisterQuota(int value) {
        return new ActorExecutorOptions(devices, placement, value, sourceQuota, trace, kernels);
    }

    public ActorExecutorOptions withSourceQuota(int value) {
        return new ActorExecutorOptions(devices, placement, registerQuota, value, trace, kernels);
    }

    public ActorExecutorOptions withTrace(boolean value) {
        return new ActorExecutorOptions(devices, placement, registerQuota, sourceQuota, value, kernels);
    }
}
