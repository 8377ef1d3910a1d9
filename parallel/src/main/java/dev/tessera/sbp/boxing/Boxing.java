package dev.tessera.sbp.boxing;

import dev.tessera.graph.TensorType;
import dev.tessera.sbp.NdSbp;
import dev.tessera.sbp.Placement;
import dev.tessera.sbp.Sbp;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The boxing table, the one place that decides how a tensor moves from its producer's layout to
 * its consumer's. On one hierarchy axis:
 *
 * <pre>
 *   from \ to   B             S(j)                   P
 *   B           -             local slice            zero-fill
 *   S(i)        all-gather    all-to-all (i != j)    zero-pad
 *   P           all-reduce    reduce-scatter         -
 * </pre>
 *
 * On a hierarchy of several axes the plan converts one axis at a time ({@link AxisRouting});
 * between different placements it reduces partial sums on the producer side, sends each
 * consumer device the pieces it needs, and zero-fills partial sums on the consumer side.
 */
public final class Boxing {
    private Boxing() {
    }

    /** The conversion of one hierarchy axis from {@code from} to {@code to}; they must differ. */
    public static Conversion conversion(Sbp from, Sbp to) {
        if (from.equals(to)) {
            throw new IllegalArgumentException("no conversion is needed from " + from + " to itself");
        }
        if (from instanceof Sbp.Broadcast) {
            return to instanceof Sbp.Split ? Conversion.LOCAL_SLICE : Conversion.ZERO_FILL;
        }
        if (from instanceof Sbp.Split) {
            return to instanceof Sbp.Broadcast ? Conversion.ALL_GATHER
                    : to instanceof Sbp.Split ? Conversion.ALL_TO_ALL : Conversion.ZERO_PAD;
        }
        return to instanceof Sbp.Broadcast ? Conversion.ALL_REDUCE : Conversion.REDUCE_SCATTER;
    }

    /**
     * The plan that turns tensor {@code tensor} of logical type {@code type}, laid out as
     * {@code from} on {@code fromPlacement}, into {@code to} on {@code toPlacement}.
     *
     * @throws IllegalArgumentException naming the tensor, both layouts and what to change, when
     *     either NdSbp does not fit its placement or the tensor (hierarchy rank, split axis out of
     *     range, a partial sum of an integer tensor)
     */
    public static BoxingPlan plan(String tensor, TensorType type, Placement fromPlacement, NdSbp from,
            Placement toPlacement, NdSbp to) {
        requireFits(tensor, type, fromPlacement, from, toPlacement, to);
        List<BoxingStep> steps;
        if (fromPlacement.equals(toPlacement)) {
            steps = new ArrayList<>(AxisRouting.route(tensor, type, fromPlacement, from, to));
        } else {
            steps = acrossPlacements(tensor, type, fromPlacement, from, toPlacement, to);
        }
        return new BoxingPlan(tensor, type, fromPlacement, from, toPlacement, to, steps);
    }

    /**
     * The bytes {@link #plan} would report, computed without enumerating peer groups when both
     * placements are the same, so that scoring a layout on thousands of devices stays cheap.
     * Same errors as {@link #plan}.
     */
    public static BoxingCost cost(String tensor, TensorType type, Placement fromPlacement, NdSbp from,
            Placement toPlacement, NdSbp to) {
        if (!fromPlacement.equals(toPlacement)) {
            BoxingPlan plan = plan(tensor, type, fromPlacement, from, toPlacement, to);
            return new BoxingCost(plan.totalBytes(), plan.maxBytesPerDevice());
        }
        requireFits(tensor, type, fromPlacement, from, toPlacement, to);
        if (from.equals(to)) {
            return BoxingCost.NONE;
        }
        double[] bytes = AxisRouting.bytes(tensor, type, fromPlacement, from, to);
        return new BoxingCost(bytes[0], bytes[1]);
    }

    private static void requireFits(String tensor, TensorType type, Placement fromPlacement, NdSbp from,
            Placement toPlacement, NdSbp to) {
        try {
            from.requireFits(tensor, type, fromPlacement);
            to.requireFits(tensor, type, toPlacement);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("cannot box tensor '" + tensor + "' " + type + " from " + from + " on "
                    + fromPlacement + " to " + to + " on " + toPlacement + ": " + e.getMessage(), e);
        }
    }

    /** Same-placement shorthand of {@link #plan(String, TensorType, Placement, NdSbp, Placement, NdSbp)}. */
    public static BoxingPlan plan(String tensor, TensorType type, Placement placement, NdSbp from, NdSbp to) {
        return plan(tensor, type, placement, from, placement, to);
    }

    /**
     * Tries the conversion on either side of the send/recv: keep the producer's layout (partial
     * sums reduced) and re-cut while sending, or, when both hierarchies have the same shape,
     * first convert on the producer to the consumer's layout so each device sends one piece.
     * Takes the one that sends fewer bytes.
     */
    private static List<BoxingStep> acrossPlacements(String tensor, TensorType type, Placement fromPlacement,
            NdSbp from, Placement toPlacement, NdSbp to) {
        NdSbp received = to.withoutPartialSums();
        List<NdSbp> sendLayouts = new ArrayList<>();
        sendLayouts.add(from.withoutPartialSums());
        if (Arrays.equals(fromPlacement.hierarchy(), toPlacement.hierarchy()) && !sendLayouts.contains(received)) {
            sendLayouts.add(received);
        }
        List<BoxingStep> best = null;
        double bestBytes = Double.POSITIVE_INFINITY;
        for (NdSbp sent : sendLayouts) {
            List<BoxingStep> steps = new ArrayList<>(AxisRouting.route(tensor, type, fromPlacement, from, sent));
            steps.add(RegionTransfers.plan(type, fromPlacement, sent, toPlacement, received));
            steps.addAll(AxisRouting.route(tensor, type, toPlacement, received, to));
            double bytes = steps.stream().mapToDouble(BoxingStep::totalBytes).sum();
            if (bytes < bestBytes) {
                best = steps;
                bestBytes = bytes;
            }
        }
        return best;
    }
}
