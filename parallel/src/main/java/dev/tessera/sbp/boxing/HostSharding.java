package dev.tessera.sbp.boxing;

import dev.tessera.graph.DType;
import dev.tessera.graph.Shape;
import dev.tessera.graph.TensorType;
import dev.tessera.sbp.DeviceId;
import dev.tessera.sbp.NdSbp;
import dev.tessera.sbp.Placement;
import dev.tessera.sbp.Region;
import dev.tessera.sbp.Sbp;
import dev.tessera.sbp.Sharding;
import dev.tessera.tensor.HostTensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Cuts a logical {@link HostTensor} into the per-device shards of an NdSbp and joins shards back:
 * the reference that boxing and, later, the runtime are tested against.
 */
public final class HostSharding {
    private HostSharding() {
    }

    /**
     * The shard of every device of {@code placement}, in rank order. With PartialSum axes the
     * shards are random partial values (drawn from {@code seed}) whose sum over the partial-sum
     * axes is {@code logical}, so no test passes by summing zeros. Partial sums need F32 or F64.
     */
    public static Map<DeviceId, HostTensor> shard(HostTensor logical, Placement placement, NdSbp ndSbp, long seed) {
        ndSbp.requireFits("logical", new TensorType(logical.shape(), logical.dtype()), placement);
        List<HostTensor> partials = partials(logical, partialCount(placement, ndSbp), seed);
        Map<DeviceId, HostTensor> shards = new LinkedHashMap<>();
        for (int rank = 0; rank < placement.size(); rank++) {
            Region region = Sharding.region(logical.shape(), placement, ndSbp, rank);
            HostTensor source = partials.get(partialIndex(placement, ndSbp, rank));
            HostTensor shard = HostTensor.zeros(region.shape(), logical.dtype());
            HostRegions.copy(source, region.offsets(), shard, new int[region.rank()], region.shape().toArray());
            shards.put(placement.device(rank), shard);
        }
        return shards;
    }

    /**
     * The logical tensor the shards represent: the devices whose Broadcast coordinates are all 0
     * each add their shard at their region (adding sums the partial values).
     *
     * @throws IllegalStateException naming the devices when a shard has the wrong shape or two
     *     replicas of a Broadcast axis differ: a conversion that leaves that state is wrong
     */
    public static HostTensor assemble(Map<DeviceId, HostTensor> shards, Placement placement, NdSbp ndSbp) {
        HostTensor any = shards.get(placement.device(0));
        Shape logical = logicalShape(shards, placement, ndSbp);
        HostTensor out = HostTensor.zeros(logical, any.dtype());
        for (int rank = 0; rank < placement.size(); rank++) {
            DeviceId device = placement.device(rank);
            HostTensor shard = shards.get(device);
            Region region = Sharding.region(logical, placement, ndSbp, rank);
            if (shard == null || !shard.shape().equals(region.shape())) {
                throw new IllegalStateException("device " + device + " holds " + shard + " but " + ndSbp + " on "
                        + placement + " gives it region " + region + " of shape " + region.shape());
            }
            int representative = representative(placement, ndSbp, rank);
            if (representative != rank) {
                if (!shard.equals(shards.get(placement.device(representative)))) {
                    throw new IllegalStateException("devices " + placement.device(representative) + " and " + device
                            + " should hold the same broadcast copy under " + ndSbp + " but differ");
                }
                continue;
            }
            HostRegions.addInto(out, region.offsets(), shard);
        }
        return out;
    }

    /** The logical shape: per tensor axis, the sum of the parts along the hierarchy axes that split it. */
    static Shape logicalShape(Map<DeviceId, HostTensor> shards, Placement placement, NdSbp ndSbp) {
        int[] dims = shards.get(placement.device(0)).shape().toArray();
        for (int tensorAxis = 0; tensorAxis < dims.length; tensorAxis++) {
            List<Integer> splitting = new ArrayList<>();
            for (int h = 0; h < ndSbp.size(); h++) {
                if (ndSbp.get(h) instanceof Sbp.Split s && s.axis() == tensorAxis) {
                    splitting.add(h);
                }
            }
            int total = 0;
            int[] coords = new int[placement.axes()];
            int combinations = splitting.stream().mapToInt(placement::axisSize).reduce(1, (a, b) -> a * b);
            for (int c = 0; c < combinations; c++) {
                int rest = c;
                for (int i = splitting.size() - 1; i >= 0; i--) {
                    int h = splitting.get(i);
                    coords[h] = rest % placement.axisSize(h);
                    rest /= placement.axisSize(h);
                }
                total += shards.get(placement.device(placement.rankAt(coords))).shape().dim(tensorAxis);
            }
            dims[tensorAxis] = total;
        }
        return Shape.of(dims);
    }

    /** The rank with the same coordinates but 0 on every Broadcast axis. */
    private static int representative(Placement placement, NdSbp ndSbp, int rank) {
        int[] coords = placement.coordinates(rank);
        for (int h = 0; h < coords.length; h++) {
            if (ndSbp.get(h) instanceof Sbp.Broadcast) {
                coords[h] = 0;
            }
        }
        return placement.rankAt(coords);
    }

    private static int partialCount(Placement placement, NdSbp ndSbp) {
        int n = 1;
        for (int h = 0; h < ndSbp.size(); h++) {
            if (ndSbp.get(h) instanceof Sbp.PartialSum) {
                n *= placement.axisSize(h);
            }
        }
        return n;
    }

    /** Row-major index of the device's coordinates over the PartialSum axes only. */
    private static int partialIndex(Placement placement, NdSbp ndSbp, int rank) {
        int[] coords = placement.coordinates(rank);
        int index = 0;
        for (int h = 0; h < ndSbp.size(); h++) {
            if (ndSbp.get(h) instanceof Sbp.PartialSum) {
                index = index * placement.axisSize(h) + coords[h];
            }
        }
        return index;
    }

    /** {@code count} tensors summing to {@code logical}: count-1 random ones and the remainder. */
    private static List<HostTensor> partials(HostTensor logical, int count, long seed) {
        if (count == 1) {
            return List.of(logical);
        }
        if (!logical.dtype().isFloating()) {
            throw new IllegalArgumentException("partial sums of " + logical.dtype() + " tensors are not supported; use F32 or F64");
        }
        SplittableRandom random = new SplittableRandom(seed);
        int n = logical.size();
        double[] remainder = new double[n];
        for (int i = 0; i < n; i++) {
            remainder[i] = logical.getDouble(i);
        }
        List<HostTensor> out = new ArrayList<>(count);
        for (int p = 1; p < count; p++) {
            double[] values = new double[n];
            for (int i = 0; i < n; i++) {
                values[i] = random.nextDouble(-1, 1);
                remainder[i] -= values[i];
            }
            out.add(of(logical, values));
        }
        out.add(0, of(logical, remainder));
        return out;
    }

    private static HostTensor of(HostTensor like, double[] values) {
        HostTensor t = HostTensor.ofDoubles(like.shape(), values);
        return like.dtype() == DType.F64 ? t : t.convert(like.dtype());
    }
}
