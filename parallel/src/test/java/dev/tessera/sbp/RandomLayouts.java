package dev.tessera.sbp;

import dev.tessera.graph.DType;
import dev.tessera.graph.Shape;
import dev.tessera.tensor.HostTensor;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Random tensors, placements and layouts for the property tests of boxing (here) and of the
 * runtime collectives (worker, through this module's test jar), so both draw from one
 * distribution: small odd shapes, hierarchies of 1 to 3 axes of 1 to 4 devices.
 */
public final class RandomLayouts {
    private RandomLayouts() {
    }

    /** Rank 1 to 3, each dimension 1 to 7. */
    public static Shape shape(SplittableRandom random) {
        int[] dims = new int[random.nextInt(1, 4)];
        for (int a = 0; a < dims.length; a++) {
            dims[a] = random.nextInt(1, 8);
        }
        return Shape.of(dims);
    }

    /** 1 to {@code maxAxes} axes on {@code node}, each of 1 to 4 devices (1 to 3 with three axes). */
    public static Placement placement(SplittableRandom random, int node, int maxAxes) {
        int[] hierarchy = new int[random.nextInt(1, maxAxes + 1)];
        for (int a = 0; a < hierarchy.length; a++) {
            hierarchy[a] = random.nextInt(1, hierarchy.length == 3 ? 4 : 5);
        }
        return Placement.onNode(node, hierarchy);
    }

    /** A layout over {@code axes} axes for a tensor of rank {@code rank}; partial sums only when asked. */
    public static NdSbp sbp(SplittableRandom random, int axes, int rank, boolean partialSums) {
        List<Sbp> list = new ArrayList<>();
        for (int a = 0; a < axes; a++) {
            int pick = random.nextInt(partialSums ? rank + 2 : rank + 1);
            list.add(pick < rank ? Sbp.split(pick) : pick == rank ? Sbp.broadcast() : Sbp.partialSum());
        }
        return new NdSbp(list);
    }

    /** Standard normal values in {@code dtype}. */
    public static HostTensor tensor(SplittableRandom random, Shape shape, DType dtype) {
        double[] values = new double[(int) shape.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = random.nextGaussian();
        }
        return HostTensor.ofDoubles(shape, values).convert(dtype);
    }

    /** Whether some device of {@code placement} holds no element of a tensor laid out as {@code sbp}. */
    public static boolean hasEmptyPart(Shape shape, Placement placement, NdSbp sbp) {
        for (int r = 0; r < placement.size(); r++) {
            if (Sharding.region(shape, placement, sbp, r).elements() == 0) {
                return true;
            }
        }
        return false;
    }
}
