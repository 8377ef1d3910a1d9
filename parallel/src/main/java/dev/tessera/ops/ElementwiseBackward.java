package dev.tessera.ops;

import static dev.tessera.ops.Checks.arity;
import static dev.tessera.ops.Checks.floating;
import static dev.tessera.ops.Checks.sameType;

import dev.tessera.graph.OpDef;
import dev.tessera.graph.TensorType;
import dev.tessera.sbp.SbpSignature;
import java.util.List;

/**
 * The backward op of an element-wise activation: inputs (dy, saved forward tensor) of one type,
 * output dx of that type.
 */
interface ElementwiseBackward extends OpDef {

    @Override
    default List<TensorType> inferOutputs(List<TensorType> in) {
        arity(in, 2);
        floating(in.get(0), "dy");
        sameType(in.get(0), in.get(1));
        return List.of(in.get(0));
    }

    @Override
    default List<SbpSignature> sbpSignatures(List<TensorType> in) {
        return ElementwiseGradSbp.signatures(in.get(0).rank());
    }
}
