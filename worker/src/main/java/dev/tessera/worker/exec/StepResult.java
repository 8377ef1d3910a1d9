package dev.tessera.worker.exec;

/** What one training iteration measured: the mean loss over its micro-batches, the gradient norm before clipping. */
public record StepResult(double loss, double gradNorm) {
}
