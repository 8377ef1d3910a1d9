package dev.tessera.api;

import dev.tessera.tensor.HostTensor;
import java.util.Map;

/**
 * Training data as a function of the batch index: {@code batch(k)} returns the same tensors for
 * the same k and seed, so an interrupted run resumes on exactly the same data.
 */
public interface DataSource {

    /** Batch {@code index} (0-based), keyed by graph input name. */
    Map<String, HostTensor> batch(long index);

    /** Number of examples in one pass over the data, or -1 when the data is generated without end. */
    default long examplesPerEpoch() {
        return -1;
    }
}
