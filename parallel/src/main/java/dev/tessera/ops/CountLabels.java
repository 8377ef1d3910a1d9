package dev.tessera.ops;

import static dev.tessera.ops.Checks.arity;
import static dev.tessera.ops.Checks.integer;
import static dev.tessera.ops.Checks.require;

import dev.tessera.graph.Cost;
import dev.tessera.graph.DType;
import dev.tessera.graph.OpDef;
import dev.tessera.graph.Shape;
import dev.tessera.graph.TensorType;
import dev.tessera.sbp.Sbp;
import dev.tessera.sbp.SbpSignature;
import java.util.ArrayList;
import java.util.List;

/**
 * The number of labels >= 0 (those a cross-entropy counts; negative labels are padding): input
 * labels [...] I32, output a scalar of {@code dtype}, the loss's float type, so that
 * {@link DivideByCount} can divide by it. Counts of split labels add up: {@code [S(i)] -> [P]}.
 * Not differentiable.
 */
public record CountLabels(DType dtype) implements OpDef {

    public CountLabels {
        require(dtype != null && dtype.isFloating(), "count_labels needs a float output dtype (F32 or F64), got " + dtype);
    }

    @Override
    public String type() {
        return "count_labels";
    }

    @Override
    public List<TensorType> inferOutputs(List<TensorType> in) {
        arity(in, 1);
        integer(in.get(0), "labels");
        return List.of(new TensorType(Shape.scalar(), dtype));
    }

    @Override
    public Cost cost(List<TensorType> in, List<TensorType> out) {
        long n = in.get(0).shape().size();
        return Cost.of(n, n * 4 + dtype.bytes());
    }

    @Override
    public List<SbpSignature> sbpSignatures(List<TensorType> in) {
        List<SbpSignature> sigs = new ArrayList<>();
        for (int axis = 0; axis < in.get(0).rank(); axis++) {
            sigs.add(SbpSignature.in(Sbp.split(axis)).out(Sbp.partialSum()));
        }
        sigs.add(SbpSignature.uniform(1, 1, Sbp.broadcast()));
        return sigs;
    }

    @Override
    public boolean differentiable(int index) {
        return false;
    }
}
