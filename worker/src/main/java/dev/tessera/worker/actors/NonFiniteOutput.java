package dev.tessera.worker.actors;

import dev.tessera.graph.Op;

/** An op wrote a NaN or an infinity while its executor was looking for the first one ({@link RunState#nonFinite}). */
record NonFiniteOutput(Op op, String tensorName, int microBatch) {
}
