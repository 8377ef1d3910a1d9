package dev.tessera.ops;

import static dev.tessera.ops.Checks.arity;
import static dev.tessera.ops.Checks.floating;
import static dev.tessera.ops.Checks.require;
import static dev.tessera.sbp.Sbp.broadcast;
import static dev.tessera.sbp.Sbp.partialSum;
import static dev.tessera.sbp.Sbp.split;

import dev.tessera.graph.OpDef;
import dev.tessera.graph.Shape;
import dev.tessera.graph.TensorType;
import dev.tessera.sbp.SbpSignature;
import java.util.ArrayList;
import java.util.List;

/** Sums over every axis but the last: x [..., n] -> [n]. The gradient of a bias. */
public record SumRows() implements OpDef {

    @Override
    public String type() {
        return "sum_rows";
    }

    @Override
    public List<TensorType> inferOutputs(List<TensorType> in) {
        arity(in, 1);
        floating(in.get(0), "x");
        require(in.get(0).rank() >= 1, "x must have at least one axis");
        return List.of(new TensorType(Shape.of(in.get(0).shape().dim(-1)), in.get(0).dtype()));
    }

    @Override
    public List<SbpSignature> sbpSignatures(List<TensorType> in) {
        int r = in.get(0).rank();
        List<SbpSignature> sigs = new ArrayList<>();
        for (int axis = 0; axis < r - 1; axis++) {
            sigs.add(SbpSignature.in(split(axis)).out(partialSum()));
        }
        sigs.add(SbpSignature.in(split(r - 1)).out(split(0)));
        sigs.add(SbpSignature.in(broadcast()).out(broadcast()));
        sigs.add(SbpSignature.in(partialSum()).out(partialSum()));
        return sigs;
    }
}
