package dev.tessera.sbp;

import dev.tessera.graph.DType;
import dev.tessera.graph.TensorType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One {@link Sbp} per axis of a placement's hierarchy: {@code (S(0), B)} on a [2, 4] placement
 * splits the tensor's rows over the 2 groups and copies each half to the 4 devices of a group.
 * Splits apply axis by axis, so {@code (S(0), S(0))} cuts the rows in 2 and each half again in 4.
 */
public record NdSbp(List<Sbp> axes) {
    public NdSbp {
        axes = List.copyOf(axes);
        if (axes.isEmpty()) {
            throw new IllegalArgumentException("an NdSbp needs one SBP per hierarchy axis, got none");
        }
    }

    public static NdSbp of(Sbp... axes) {
        return new NdSbp(Arrays.asList(axes));
    }

    /** The same SBP on each of {@code hierarchyAxes} axes. */
    public static NdSbp uniform(int hierarchyAxes, Sbp sbp) {
        return new NdSbp(java.util.Collections.nCopies(hierarchyAxes, sbp));
    }

    public int size() {
        return axes.size();
    }

    public Sbp get(int axis) {
        return axes.get(axis);
    }

    /** This NdSbp with hierarchy axis {@code axis} set to {@code sbp}. */
    public NdSbp with(int axis, Sbp sbp) {
        List<Sbp> copy = new ArrayList<>(axes);
        copy.set(axis, sbp);
        return new NdSbp(copy);
    }

    public boolean hasPartialSum() {
        return axes.stream().anyMatch(s -> s instanceof Sbp.PartialSum);
    }

    /** This NdSbp with every PartialSum replaced by Broadcast (what a reduction leaves). */
    public NdSbp withoutPartialSums() {
        return new NdSbp(axes.stream().map(s -> s instanceof Sbp.PartialSum ? Sbp.broadcast() : s).toList());
    }

    /**
     * Checks that this NdSbp fits {@code placement} and a tensor of {@code type}.
     *
     * @throws IllegalArgumentException naming the tensor, the NdSbp and what to change: a
     *     hierarchy of another rank, a split axis outside the tensor's rank, or a partial sum of
     *     an integer tensor (labels and token ids are never summed)
     */
    public void requireFits(String tensor, TensorType type, Placement placement) {
        if (axes.size() != placement.axes()) {
            throw new IllegalArgumentException("tensor '" + tensor + "' has NdSbp " + this + " with " + axes.size()
                    + " axes, but placement " + placement + " has " + placement.axes()
                    + "; give one SBP per hierarchy axis");
        }
        for (Sbp sbp : axes) {
            if (sbp instanceof Sbp.Split split && (split.axis() < 0 || split.axis() >= type.rank())) {
                throw new IllegalArgumentException("tensor '" + tensor + "' " + type + " has NdSbp " + this + ", but "
                        + split + " is out of range for a tensor of rank " + type.rank()
                        + "; split an axis between 0 and " + (type.rank() - 1) + ", or use B");
            }
            if (sbp instanceof Sbp.PartialSum && type.dtype() == DType.I32) {
                throw new IllegalArgumentException("tensor '" + tensor + "' " + type + " has NdSbp " + this
                        + ", but an integer tensor (labels, token ids) cannot be a partial sum; use B or a split instead of P");
            }
        }
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("(");
        for (int i = 0; i < axes.size(); i++) {
            sb.append(i == 0 ? "" : ", ").append(axes.get(i));
        }
        return sb.append(')').toString();
    }
}
