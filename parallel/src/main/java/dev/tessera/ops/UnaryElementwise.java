package dev.tessera.ops;

import static dev.tessera.ops.Checks.arity;
import static dev.tessera.ops.Checks.floating;

import dev.tessera.graph.OpDef;
import dev.tessera.graph.TensorType;
import dev.tessera.sbp.SbpSignature;
import java.util.List;

/** An op applied element by element to one floating tensor; the output has the input's type. */
interface UnaryElementwise extends OpDef {

    /** Whether f(a + b) = f(a) + f(b), so partial sums pass through; true only for scaling. */
    default boolean additive() {
        return false;
    }

    @Override
    default List<TensorType> inferOutputs(List<TensorType> in) {
        arity(in, 1);
        floating(in.get(0), "x");
        return List.of(in.get(0));
    }

    @Override
    default List<SbpSignature> sbpSignatures(List<TensorType> in) {
        return ElementwiseSbp.signatures(in.get(0).rank(), 1, additive());
    }
}
