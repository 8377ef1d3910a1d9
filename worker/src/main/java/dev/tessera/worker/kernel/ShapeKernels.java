package dev.tessera.worker.kernel;

import dev.tessera.ops.Reshape;
import dev.tessera.ops.Transpose;

/** Ops that move elements without arithmetic. */
final class ShapeKernels {
    private ShapeKernels() {
    }

    static void register(KernelRegistry r) {
        r.register(Reshape.class, (def, op) -> (in, out, ctx) -> out[0].assign(in[0].reshape('c', out[0].shape())));
        r.register(Transpose.class, (def, op) -> {
            int[] permutation = def.permutation();
            return (in, out, ctx) -> {
                if (FloatLoops.applies(in[0], out[0])) {
                    FloatLoops.permute(in[0], out[0], permutation);
                } else {
                    out[0].assign(in[0].permute(permutation));
                }
            };
        });
    }
}
