package dev.tessera.api;

import dev.tessera.graph.Tensor;

/**
 * The tensors a model hands to the trainer: a scalar loss to minimize (the mean over the
 * micro-batch), and the logits used by evaluation.
 */
public record ModelGraph(Tensor loss, Tensor logits) {
}
