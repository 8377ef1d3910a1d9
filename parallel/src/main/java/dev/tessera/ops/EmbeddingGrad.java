package dev.tessera.ops;

import static dev.tessera.ops.Checks.arity;
import static dev.tessera.ops.Checks.floating;
import static dev.tessera.ops.Checks.integer;
import static dev.tessera.ops.Checks.require;

import dev.tessera.graph.Cost;
import dev.tessera.graph.OpDef;
import dev.tessera.graph.Shape;
import dev.tessera.graph.TensorType;
import dev.tessera.sbp.Sbp;
import dev.tessera.sbp.SbpSignature;
import java.util.ArrayList;
import java.util.List;

/**
 * The table gradient of {@link Embedding}: inputs (dy [..., D], ids [...]), output [V, D], zero
 * except that row {@code ids[p]} accumulates {@code dy[p]} for every position p (ids repeat, so
 * it is a scatter-add). The vocabulary size is an attribute so that this W op reads only dy and
 * the ids, not the table.
 */
public record EmbeddingGrad(int vocabulary) implements OpDef {

    public EmbeddingGrad {
        if (vocabulary <= 0) {
            throw new IllegalArgumentException("embedding vocabulary must be positive, got " + vocabulary);
        }
    }

    @Override
    public String type() {
        return "embedding_grad";
    }

    @Override
    public List<TensorType> inferOutputs(List<TensorType> in) {
        arity(in, 2);
        TensorType dy = in.get(0);
        TensorType ids = in.get(1);
        floating(dy, "dy");
        integer(ids, "ids");
        require(dy.rank() == ids.rank() + 1 && dy.shape().dropLast().equals(ids.shape()),
                "dy must have the shape of ids plus an embedding axis, [..." + ids.shape() + ", D], got " + dy.shape());
        return List.of(new TensorType(Shape.of(vocabulary, dy.shape().dim(-1)), dy.dtype()));
    }

    @Override
    public Cost cost(List<TensorType> in, List<TensorType> out) {
        long n = in.get(0).shape().size();
        long bytes = (n + out.get(0).shape().size()) * in.get(0).dtype().bytes() + in.get(1).shape().size() * 4;
        return Cost.of(n, bytes);
    }

    /** Positions split over devices give partial tables; split embedding columns stay split. */
    @Override
    public List<SbpSignature> sbpSignatures(List<TensorType> in) {
        Sbp b = Sbp.broadcast();
        int idsRank = in.get(1).rank();
        List<SbpSignature> sigs = new ArrayList<>();
        for (int axis = 0; axis < idsRank; axis++) {
            sigs.add(SbpSignature.in(Sbp.split(axis), Sbp.split(axis)).out(Sbp.partialSum()));
        }
        sigs.add(SbpSignature.in(Sbp.split(idsRank), b).out(Sbp.split(1)));
        sigs.add(SbpSignature.in(Sbp.partialSum(), b).out(Sbp.partialSum()));
        sigs.add(SbpSignature.in(b, b).out(b));
        return sigs;
    }

    @Override
    public boolean differentiable(int index) {
        return index == 0;
    }
}
