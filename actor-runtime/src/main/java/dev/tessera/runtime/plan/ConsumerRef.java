package dev.tessera.runtime.plan;

/**
 * One reader of an output: input {@code input} of actor {@code consumer}.
 *
 * @param consumer id of the consuming actor
 * @param input    index of the consumer's input that reads the output
 */
public record ConsumerRef(int consumer, int input) {
}
