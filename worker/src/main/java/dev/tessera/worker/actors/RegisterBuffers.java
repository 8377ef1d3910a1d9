package dev.tessera.worker.actors;

import dev.tessera.graph.TensorType;
import dev.tessera.worker.exec.HostTensors;
import java.util.HashMap;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The ND4J buffers behind an actor's registers, allocated on first request and kept across
 * runs: an executor runs the same plan many times and allocates each buffer once.
 */
final class RegisterBuffers {
    private final Map<Long, INDArray> buffers = new HashMap<>();

    INDArray get(int output, int register, TensorType type) {
        return buffers.computeIfAbsent(((long) output << 32) | register, key -> HostTensors.allocate(type));
    }

    void close() {
        buffers.values().forEach(INDArray::close);
        buffers.clear();
    }
}
