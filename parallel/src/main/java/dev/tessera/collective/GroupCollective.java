package dev.tessera.collective;

import dev.tessera.ops.Checks;
import dev.tessera.graph.OpDef;
import dev.tessera.graph.Shape;
import dev.tessera.graph.TensorType;
import dev.tessera.sbp.Sbp;
import dev.tessera.sbp.boxing.CollectiveAlgorithm;
import dev.tessera.sbp.boxing.Conversion;
import dev.tessera.sbp.boxing.GroupParts;
import java.util.List;

/**
 * One member's part of a conversion within one peer group, on that member's device: it reads
 * only its own part ({@link GroupParts#before}) and writes only its own result
 * ({@link GroupParts#after}); the worker runs it as a collective member actor that exchanges the
 * pieces with its peers over the transport with {@code algorithm}. Every field is what a worker
 * needs to build the same schedule as its peers: the conversion of one hierarchy axis
 * ({@code from -> to}), the tensor the group holds together ({@code groupShape}), the group size
 * and this member's coordinate in it, and {@code group}, which names this collective (one peer
 * group of one boxing step) within the plan so that its messages are told apart from any other's.
 * The local conversions (slice, zero-fill, zero-pad) are members too, whose schedules send nothing.
 */
public record GroupCollective(Conversion conversion, Sbp from, Sbp to, Shape groupShape, int members, int member,
        CollectiveAlgorithm algorithm, int group) implements OpDef {

    public GroupCollective {
        if (conversion == Conversion.SEND_RECV) {
            throw new IllegalArgumentException("send/recv moves pieces between placements; it is not a group collective");
        }
        if (members < 1 || member < 0 || member >= members) {
            throw new IllegalArgumentException("member " + member + " of a group of " + members + " does not exist");
        }
        if (algorithm == CollectiveAlgorithm.RING && (!conversion.communicates()
                || conversion == Conversion.ALL_TO_ALL)) {
            throw new IllegalArgumentException(conversion + " has no ring algorithm; use DIRECT");
        }
    }

    /** What every member holds before and after, and the order a reduction adds in: the conversion's semantics. */
    public GroupParts parts() {
        return GroupParts.of(conversion, from, to, groupShape, members);
    }

    @Override
    public String type() {
        return switch (conversion) {
            case ALL_REDUCE -> "all_reduce";
            case REDUCE_SCATTER -> "reduce_scatter";
            case ALL_GATHER -> "all_gather";
            case ALL_TO_ALL -> "all_to_all";
            case LOCAL_SLICE -> "local_slice";
            case ZERO_FILL -> "zero_fill";
            case ZERO_PAD -> "zero_pad";
            case SEND_RECV -> throw new IllegalStateException("unreachable: rejected by the constructor");
        };
    }

    @Override
    public List<TensorType> inferOutputs(List<TensorType> in) {
        Checks.arity(in, 1);
        GroupParts parts = parts();
        Shape mine = parts.before(member).shape();
        Checks.require(in.get(0).shape().equals(mine), "member " + member + " of " + conversion + " over " + members
                + " holds " + mine + " of " + groupShape + " (" + from + "), not " + in.get(0).shape());
        return List.of(new TensorType(parts.after(member).shape(), in.get(0).dtype()));
    }
}
