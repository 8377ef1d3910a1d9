package dev.tessera.api;

import dev.tessera.tensor.HostTensor;
import java.util.Map;

/** Runs the model's forward graph with the current weights, for evaluation. */
public interface Inference {

    /**
     * Computes the logits for a batch of inputs (keyed by graph input name). Inputs only the loss
     * needs (labels, targets) may be left out. The batch size is taken from the inputs; a graph
     * for each new size is built on first use.
     */
    HostTensor logits(Map<String, HostTensor> inputs);
}
