package dev.tessera.runtime;

/** Test payload: which actor wrote it for which step. Owned by its producer, reused each time. */
final class Piece {
    long step = -1;
    int writer = -1;
    int output = -1;
}
