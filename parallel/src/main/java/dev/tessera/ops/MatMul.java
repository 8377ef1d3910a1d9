package dev.tessera.ops;

import static dev.tessera.ops.Checks.arity;
import static dev.tessera.ops.Checks.floating;
import static dev.tessera.ops.Checks.require;
import static dev.tessera.sbp.Sbp.broadcast;
import static dev.tessera.sbp.Sbp.partialSum;
import static dev.tessera.sbp.Sbp.split;

import dev.tessera.graph.Cost;
import dev.tessera.graph.GradientBuilder;
import dev.tessera.graph.OpDef;
import dev.tessera.graph.Shape;
import dev.tessera.graph.Tensor;
import dev.tessera.graph.TensorType;
import dev.tessera.sbp.SbpSignature;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code op(A) @ op(B)} over the last two axes, where op transposes when the flag is set. Leading
 * axes are batch axes and must be equal in both inputs: A [..., m, k], B [..., k, n] -> [..., m, n].
 */
public record MatMul(boolean transposeA, boolean transposeB) implements OpDef {

    @Override
    public String type() {
        return "matmul";
    }

    @Override
    public List<TensorType> inferOutputs(List<TensorType> in) {
        arity(in, 2);
        TensorType a = in.get(0);
        TensorType b = in.get(1);
        floating(a, "A");
        require(a.dtype() == b.dtype(), "A and B must have the same dtype");
        int r = a.rank();
        require(r >= 2 && b.rank() == r, "A and B must have the same rank >= 2");
        for (int i = 0; i < r - 2; i++) {
            require(a.shape().dim(i) == b.shape().dim(i), "batch axis " + i + " differs");
        }
        int k = a.shape().dim(transposeA ? r - 2 : r - 1);
        int kb = b.shape().dim(transposeB ? r - 1 : r - 2);
        require(k == kb, "inner dimensions differ: " + k + " vs " + kb);
        int m = a.shape().dim(transposeA ? r - 1 : r - 2);
        int n = b.shape().dim(transposeB ? r - 2 : r - 1);
        return List.of(new TensorType(a.shape().with(r - 2, m).with(r - 1, n), a.dtype()));
    }

    @Override
    public Cost cost(List<TensorType> in, List<TensorType> out) {
        int r = in.get(0).rank();
        long k = in.get(0).shape().dim(transposeA ? r - 2 : r - 1);
        long outElems = out.get(0).shape().size();
        long bytes = 0;
        for (TensorType t : in) {
            bytes += t.shape().size() * t.dtype().bytes();
        }
        bytes += outElems * out.get(0).dtype().bytes();
        return Cost.of(2 * outElems * k, bytes);
    }

    @Override
    public List<SbpSignature> sbpSignatures(List<TensorType> in) {
        int r = in.get(0).rank();
        int aRows = transposeA ? r - 1 : r - 2;
        int aInner = transposeA ? r - 2 : r - 1;
        int bInner = transposeB ? r - 1 : r - 2;
        int bCols = transposeB ? r - 2 : r - 1;
        List<SbpSignature> sigs = new ArrayList<>();
        for (int batch = 0; batch < r - 2; batch++) {
            sigs.add(SbpSignature.in(split(batch), split(batch)).out(split(batch)));
        }
        sigs.add(SbpSignature.in(split(aRows), broadcast()).out(split(r - 2)));
        sigs.add(SbpSignature.in(broadcast(), split(bCols)).out(split(r - 1)));
        sigs.add(SbpSignature.in(split(aInner), split(bInner)).out(partialSum()));
        sigs.add(SbpSignature.in(partialSum(), broadcast()).out(partialSum()));
        sigs.add(SbpSignature.in(broadcast(), partialSum()).out(partialSum()));
        sigs.add(SbpSignature.in(broadcast(), broadcast()).out(broadcast()));
        return sigs;
    }

    @Override
    public void gradient(GradientBuilder g) {
        Tensor a = g.input(0);
        Tensor b = g.input(1);
        Tensor dy = g.outputGrad(0);
        if (g.requiresGrad(0)) {
            g.inputGrad(0, transposeA
                    ? g.emit(new MatMul(transposeB, true), b, dy)
                    : g.emit(new MatMul(false, !transposeB), dy, b));
        }
        if (g.requiresGrad(1)) {
            g.inputGrad(1, transposeB
                    ? g.emit(new MatMul(true, transposeA), dy, a)
                    : g.emit(new MatMul(!transposeA, false), a, dy));
        }
    }

    /** Output shape of a plain 2-D product, for callers that size buffers. */
    public static Shape productShape(Shape a, Shape b) {
        return Shape.of(a.dim(0), b.dim(1));
    }
}
