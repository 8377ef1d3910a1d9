package dev.tessera.ops;

import static dev.tessera.ops.Checks.arity;
import static dev.tessera.ops.Checks.floating;

import dev.tessera.graph.Cost;
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

    /** Rough FLOPs per element, for the cost model. */
    default int flopsPerElement() {
        return 1;
    }

    /** One pass: {@link #flopsPerElement()} per element, every element read once and written once. */
    @Override
    default Cost cost(List<TensorType> in, List<TensorType> out) {
        long n = in.get(0).shape().size();
        return Cost.of((long) flopsPerElement() * n, 2 * n * in.get(0).dtype().bytes());
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
