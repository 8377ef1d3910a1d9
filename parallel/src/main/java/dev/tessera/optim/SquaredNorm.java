package dev.tessera.optim;

import dev.tessera.graph.Cost;
import dev.tessera.graph.OpDef;
import dev.tessera.graph.Shape;
import dev.tessera.graph.TensorType;
import dev.tessera.ops.Checks;
import dev.tessera.sbp.Sbp;
import dev.tessera.sbp.SbpSignature;
import java.util.ArrayList;
import java.util.List;

/**
 * The sum of squares of all elements of a gradient, a scalar of the gradient's dtype (summed in
 * double). A gradient split over devices gives each device the sum over its part: a partial sum
 * of the whole, so global-norm clipping works on any layout of the gradients.
 */
public record SquaredNorm() implements OpDef {

    @Override
    public String type() {
        return "squared_norm";
    }

    @Override
    public List<TensorType> inferOutputs(List<TensorType> in) {
        Checks.arity(in, 1);
        Checks.floating(in.get(0), "gradient");
        return List.of(new TensorType(Shape.scalar(), in.get(0).dtype()));
    }

    /** One multiply and one add per element. */
    @Override
    public Cost cost(List<TensorType> in, List<TensorType> out) {
        TensorType x = in.get(0);
        return Cost.of(2 * x.shape().size(), x.shape().size() * x.dtype().bytes());
    }

    @Override
    public List<SbpSignature> sbpSignatures(List<TensorType> in) {
        List<SbpSignature> sigs = new ArrayList<>();
        for (int axis = 0; axis < in.get(0).rank(); axis++) {
            sigs.add(SbpSignature.in(Sbp.split(axis)).out(Sbp.partialSum()));
        }
        sigs.add(SbpSignature.in(Sbp.broadcast()).out(Sbp.broadcast()));
        return sigs;
    }
}
