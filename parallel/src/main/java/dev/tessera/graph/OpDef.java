package dev.tessera.graph;

import dev.tessera.sbp.LocalLayout;
import dev.tessera.sbp.NdSbpSignature;
import dev.tessera.sbp.Placement;
import dev.tessera.sbp.SbpSignature;
import java.util.List;

/**
 * Everything Tessera knows about one op type, in one place: shape inference, cost, SBP
 * signatures and the gradient rule. Implementations are immutable records whose components are
 * the op's attributes (a transpose flag, an axis, a seed); the record's class is the op type by
 * which kernels are looked up.
 */
public interface OpDef {

    /** Short stable name of the op type, e.g. {@code matmul}. */
    String type();

    /**
     * The type of every output given the types of the inputs.
     *
     * @throws IllegalArgumentException saying what does not fit; the graph builder adds the op
     *     name and the input shapes
     */
    List<TensorType> inferOutputs(List<TensorType> inputs);

    /** FLOPs and memory traffic of one run; by default one FLOP per output element. */
    default Cost cost(List<TensorType> inputs, List<TensorType> outputs) {
        long flops = 0;
        long bytes = 0;
        for (TensorType t : outputs) {
            flops += t.shape().size();
            bytes += t.shape().size() * t.dtype().bytes();
        }
        for (TensorType t : inputs) {
            bytes += t.shape().size() * t.dtype().bytes();
        }
        return Cost.of(flops, bytes);
    }

    /**
     * The SBP signatures this op can run with on one hierarchy axis, for the given input types.
     * Empty means "only on one device" until the planner fills it in.
     */
    default List<SbpSignature> sbpSignatures(List<TensorType> inputs) {
        return List.of();
    }

    /**
     * Whether a lifted signature is valid on this placement. A signature declared from the input
     * types alone may hold only for some device counts (a reshape that merges leading axes keeps
     * a row split only where every device's rows map to the same elements); the planner drops
     * the combinations this rejects. By default every declared signature holds everywhere.
     */
    default boolean acceptsLayout(List<TensorType> inputs, List<TensorType> outputs, Placement placement,
            NdSbpSignature signature) {
        return true;
    }

    /**
     * The op one device runs for its part of this op under a chosen signature. Most ops compute
     * the same on a part as on the whole and return themselves; an op whose attributes carry a
     * logical size (a reshape's target shape) or whose result depends on where the part sits
     * (an embedding lookup into a slice of the table) returns the op that is right for the part.
     * The lowering checks that the returned op's outputs have the local shapes of
     * {@code layout}.
     */
    default OpDef onDevice(LocalLayout layout) {
        return this;
    }

    /** Whether a gradient can flow into input {@code index} (false for labels, token ids, masks). */
    default boolean differentiable(int index) {
        return true;
    }

    /**
     * Emits the ops computing the gradients of this op's inputs from the gradients of its
     * outputs. Rules only emit ops; autodiff decides which are B and which are W.
     */
    default void gradient(GradientBuilder g) {
        throw new UnsupportedOperationException("op type '" + type() + "' has no gradient rule");
    }

    /** Inputs that this op overwrites in place (optimizer updates); empty for ordinary ops. */
    default List<Integer> mutatedInputs() {
        return List.of();
    }
}
