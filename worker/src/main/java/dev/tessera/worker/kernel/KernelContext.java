package dev.tessera.worker.kernel;

/**
 * Where in training a kernel runs: the iteration and the micro-batch within it. Random ops
 * (dropout) derive their stream from these and their own seed, so every executor and every
 * resumed run draws the same numbers.
 */
public record KernelContext(long iteration, int microBatch) {
}
