package dev.tessera.worker.kernel;

import dev.tessera.ops.Reshape;
import dev.tessera.ops.Transpose;

/** Ops that move elements without arithmetic. */
final class ShapeKernels {
    private ShapeKernels() {
    }

    static void register(KernelRegistry r) {
        r.register(Reshape.class, (def, op) -> (in, out, ctx) -> out[0].assign(in[0].reshape('c', out[0].shape())));
        r.register(Transpose.class, (def, op) -> (in, out, ctx) -> out[0].assign(in[0].permute(def.permutation())));
    }
}
