package dev.tessera.deploy.checkpoint;

import dev.tessera.tensor.HostTensor;
import java.util.Map;

/**
 * Everything needed to continue a run exactly: the weights and optimizer state after
 * {@code step} completed iterations, the seed, the hash of the config that produced them, and the
 * index of the next training batch to read.
 */
public record Checkpoint(long step, long seed, String configHash, long nextBatchIndex,
                         Map<String, HostTensor> parameters, Map<String, HostTensor> optimizerState) {
    public Checkpoint {
        parameters = Map.copyOf(parameters);
        optimizerState = Map.copyOf(optimizerState);
    }
}
