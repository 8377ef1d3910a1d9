package dev.tessera.sbp.boxing;

import dev.tessera.graph.Shape;
import dev.tessera.sbp.Region;
import dev.tessera.sbp.Sbp;
import dev.tessera.sbp.Sharding;
import java.util.ArrayList;
import java.util.List;

/**
 * The one definition of what a conversion does inside one peer group of {@code peers} members,
 * in the coordinates of the tensor the group holds together (its {@code shape}): which region
 * each member holds before and after, whose values a member takes, and in which order a
 * reduction adds. {@link HostBoxing} (the reference) and the runtime's collective algorithms
 * (worker/) both read it, so the semantics are written once.
 *
 * <ul>
 *   <li>Regions are balanced parts ({@link Sharding#partStart}) along the split tensor axis:
 *       member i holds part i; Broadcast and PartialSum hold the whole.
 *   <li>A conversion that does not sum gives member i, at every element of {@code after(i)},
 *       the value of a member j with {@link #takesFrom}(i, j) whose {@code before(j)} holds it;
 *       elements no such member holds are zero (zero-pad, zero-fill).
 *   <li>A reduction cuts the result into {@code peers} reduction parts: for reduce-scatter
 *       part k is {@code after(k)}; for all-reduce part k is the k-th balanced range of the
 *       row-major elements (so a ring moves equal shares whatever the shape). Part k adds the
 *       members' values in the order {@link #summand}(k, 0), (k, 1), ...: members k+1, k+2,
 *       ..., k (mod peers), a left fold in the element type. That is the order a ring
 *       accumulates in (part k ends at member k), so a ring, a direct exchange and the host
 *       reference give identical bits, and every member of an all-reduce holds the same bits.
 * </ul>
 */
public record GroupParts(Conversion conversion, Shape shape, int peers, List<Region> before, List<Region> after) {

    public GroupParts {
        before = List.copyOf(before);
        after = List.copyOf(after);
    }

    /**
     * The parts of {@code conversion} from {@code from} to {@code to} over a group of
     * {@code peers} holding a tensor of {@code shape} together.
     *
     * @throws IllegalArgumentException for send/recv, which is not a conversion within one group
     */
    public static GroupParts of(Conversion conversion, Sbp from, Sbp to, Shape shape, int peers) {
        if (conversion == Conversion.SEND_RECV) {
            throw new IllegalArgumentException("send/recv moves pieces between placements, not within one peer group");
        }
        List<Region> before = new ArrayList<>(peers);
        List<Region> after = new ArrayList<>(peers);
        for (int i = 0; i < peers; i++) {
            before.add(region(from, shape, peers, i));
            after.add(region(to, shape, peers, i));
        }
        return new GroupParts(conversion, shape, peers, before, after);
    }

    private static Region region(Sbp sbp, Shape shape, int peers, int member) {
        Region whole = Region.whole(shape);
        if (sbp instanceof Sbp.Split split) {
            int size = shape.dim(split.axis());
            return whole.narrow(split.axis(), Sharding.partStart(size, peers, member),
                    Sharding.partLength(size, peers, member));
        }
        return whole;
    }

    public Region before(int member) {
        return before.get(member);
    }

    public Region after(int member) {
        return after.get(member);
    }

    /** Number of elements of the tensor the group holds together. */
    public long elements() {
        return shape.size();
    }

    /** Whether members add their values (all-reduce, reduce-scatter). */
    public boolean sums() {
        return conversion == Conversion.ALL_REDUCE || conversion == Conversion.REDUCE_SCATTER;
    }

    /**
     * Whether member {@code member} takes values from member {@code source} (for conversions that
     * do not sum). Gathers and all-to-all take from every member; slices and zero-pad only from
     * the member itself; zero-fill keeps the value on member 0 only.
     */
    public boolean takesFrom(int member, int source) {
        return switch (conversion) {
            case ALL_GATHER, ALL_TO_ALL -> true;
            case LOCAL_SLICE, ZERO_PAD -> member == source;
            case ZERO_FILL -> member == 0 && source == 0;
            default -> false;
        };
    }

    /** The member whose value comes at {@code position} (0 first) of reduction part {@code part}'s sum. */
    public int summand(int part, int position) {
        return summand(peers, part, position);
    }

    /**
     * The same order for any reduction over {@code peers} members ending at member {@code part}
     * (a reduce to root {@code part} uses it too): members part+1, part+2, ..., part (mod peers).
     */
    public static int summand(int peers, int part, int position) {
        return (part + 1 + position) % peers;
    }

    /** First row-major element of all-reduce reduction part {@code part}. */
    public long flatPartStart(int part) {
        return flatPartStart(elements(), peers, part);
    }

    /** Number of row-major elements of all-reduce reduction part {@code part}. */
    public long flatPartLength(int part) {
        return flatPartLength(elements(), peers, part);
    }

    /** First row-major element of all-reduce part {@code part} of {@code elements} over {@code peers}. */
    public static long flatPartStart(long elements, int peers, int part) {
        return part * (elements / peers) + Math.min(part, elements % peers);
    }

    /** Number of row-major elements of all-reduce part {@code part} of {@code elements} over {@code peers}. */
    public static long flatPartLength(long elements, int peers, int part) {
        return elements / peers + (part < elements % peers ? 1 : 0);
    }
}
