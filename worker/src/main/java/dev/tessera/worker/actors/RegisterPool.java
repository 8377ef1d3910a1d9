package dev.tessera.worker.actors;

import dev.tessera.graph.TensorType;
import dev.tessera.worker.exec.HostTensors;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The activation buffers of one device, shared by all its compute actors: a register takes a
 * buffer of its tensor's type when its producer is about to act and gives it back once every
 * consumer has read it, so two tensors whose lives do not overlap in a step use the same memory
 * (reuse by liveness, decided as the device runs rather than ahead of time). The device then
 * holds about as many buffers as are alive at once at its busiest point instead of one per
 * register of the plan. Buffers are matched by exact type (shape and element type), so a kernel
 * always writes a buffer of its output's own shape and no view is made per step.
 *
 * <p>A taken buffer holds whatever its previous tensor left in it; every kernel overwrites its
 * whole output (as it already had to, a register being rewritten every micro-batch). Buffers are
 * created on first need and kept across runs; {@link #close} frees them all. Thread-safe: the
 * actions of a device may be returned buffers from the threads that finish their consumers.
 */
final class RegisterPool implements AutoCloseable {
    private final Map<TensorType, ArrayDeque<INDArray>> free = new HashMap<>();
    private final List<INDArray> created = new ArrayList<>();
    private long createdBytes;

    /** A buffer of {@code type} that no register holds: one given back earlier, or a new one. */
    synchronized INDArray take(TensorType type) {
        ArrayDeque<INDArray> buffers = free.get(type);
        if (buffers != null && !buffers.isEmpty()) {
            return buffers.pop();
        }
        INDArray buffer = HostTensors.allocate(type);
        created.add(buffer);
        createdBytes += type.shape().size() * type.dtype().bytes();
        return buffer;
    }

    /** {@code buffer}, taken for {@code type}, is read by no one any more. */
    synchronized void giveBack(TensorType type, INDArray buffer) {
        free.computeIfAbsent(type, t -> new ArrayDeque<>()).push(buffer);
    }

    /** The bytes of every buffer this pool created: the device's register memory with reuse. */
    synchronized long createdBytes() {
        return createdBytes;
    }

    @Override
    public synchronized void close() {
        created.forEach(INDArray::close);
        created.clear();
        free.clear();
        createdBytes = 0;
    }
}
