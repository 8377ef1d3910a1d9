package dev.tessera.worker.actors;

import dev.tessera.worker.kernel.KernelRegistry;

/**
 * How an {@link ActorExecutor} lowers and runs a training graph.
 *
 * @param devices       local virtual devices: one single-thread dispatcher each, in this JVM
 * @param placement     the device of every op
 * @param registerQuota registers per actor output (1: stages serialize; 2: a producer may run
 *                      one micro-batch ahead, at the cost of a second buffer per activation)
 * @param trace         record every action; {@link ActorExecutor#lastTrace()} returns the trace
 * @param kernels       where kernels are looked up
 */
public record ActorExecutorOptions(int devices, Placement placement, int registerQuota, boolean trace,
                                   KernelRegistry kernels) {
    public ActorExecutorOptions {
        if (devices < 1) {
            throw new IllegalArgumentException("runtime.devices must be at least 1, got " + devices);
        }
        if (registerQuota < 1) {
            throw new IllegalArgumentException("the register quota must be at least 1, got " + registerQuota);
        }
    }

    /** One device, quota 1, untraced, the standard kernels. */
    public static ActorExecutorOptions defaults() {
        return new ActorExecutorOptions(1, Placement.singleDevice(), 1, false, KernelRegistry.standard());
    }

    public ActorExecutorOptions withDevices(int count, Placement value) {
        return new ActorExecutorOptions(count, value, registerQuota, trace, kernels);
    }

    public ActorExecutorOptions withRegisterQuota(int value) {
        return new ActorExecutorOptions(devices, placement, value, trace, kernels);
    }

    public ActorExecutorOptions withTrace(boolean value) {
        return new ActorExecutorOptions(devices, placement, registerQuota, value, kernels);
    }
}
