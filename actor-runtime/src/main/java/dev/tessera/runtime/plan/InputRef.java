package dev.tessera.runtime.plan;

/**
 * Where an actor's input comes from: output {@code output} of actor {@code producer}.
 *
 * @param producer id of the producing actor
 * @param output   index of the producer's output
 */
public record InputRef(int producer, int output) {
}
