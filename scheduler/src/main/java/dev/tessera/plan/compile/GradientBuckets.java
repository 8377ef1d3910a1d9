package dev.tessera.plan.compile;

import dev.tessera.graph.DType;
import dev.tessera.graph.Phase;
import dev.tessera.sbp.boxing.CollectiveAlgorithm;
import dev.tessera.sbp.boxing.Conversion;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Fuses the data-parallel gradient reductions of a plan into buckets. A candidate is an all-reduce
 * of the weight-gradient phase (W: the P to B of a weight gradient over the data axis, which the
 * gradient's accumulation reads), or of the update (the P to B of a gradient accumulator, reduced
 * once per iteration after several micro-batches), or a reduce-scatter of either (P to S: the
 * gradient of a weight stored split over the data axis, ZeRO-style); candidates of one phase and
 * conversion with the same members (devices in rank order) and dtype (and, in the W phase, the
 * same pipeline stage) form one reduction group. In the order
 * they are given (the compiler gives them in the order their gradients are produced: by the
 * place of the producing W op in the backward, the last layer's first; an update-phase
 * accumulator by its member's place), each
 * group is cut into buckets of at most {@code bucketBytes}: a gradient that does not fit closes
 * the bucket and opens the next, and one larger than the limit is a bucket alone. A bucket of one
 * gradient stays that gradient's own collective (bucket 0). So a bucket's collective can start as
 * soon as its last gradient is produced, while the backward computes the next ones, and a model
 * of many small gradients pays one ring latency per bucket instead of per tensor.
 *
 * <p>A bucket runs as one ring all-reduce (reduce-scatter), also where the boxing table chose the direct algorithm
 * for a tiny gradient on its own (one latency-bound exchange per tensor is what buckets replace);
 * such a gradient is then charged the ring's bytes for it ({@code CollectiveBytes} with RING,
 * equal to the direct figure whenever its parts are equal), which is what the bucket sends.
 */
final class GradientBuckets {
    private GradientBuckets() {
    }

    /**
     * One collective group of the plan.
     *
     * @param index its position among the plan's groups
     * @param devices the plan devices of its members, in rank order
     * @param bytes bytes of the tensor the group holds together
     * @param stage the pipeline schedule's stage of its members, or -1 without a schedule: a bucket
     *     holds gradients of one stage, so that its members share their device's W action (a device
     *     of an interleaved schedule runs several stages)
     */
    record Candidate(int index, Phase phase, Conversion conversion, CollectiveAlgorithm algorithm, DType dtype,
            List<Integer> devices, long bytes, int stage) {
        /** A candidate of a plan without a pipeline schedule. */
        Candidate(int index, Phase phase, Conversion conversion, CollectiveAlgorithm algorithm, DType dtype,
                List<Integer> devices, long bytes) {
            this(index, phase, conversion, algorithm, dtype, devices, bytes, -1);
        }

        boolean fusable() {
            return (phase == Phase.BACKWARD_WEIGHT || phase == Phase.UPDATE)
                    && (conversion == Conversion.ALL_REDUCE || conversion == Conversion.REDUCE_SCATTER)
                    && devices.size() > 1;
        }
    }

    private record Key(List<Integer> devices, DType dtype, Phase phase, Conversion conversion, int stage) {
    }

    /**
     * The bucket of each group, by index: 0 for its own collective, else 1, 2, ...
     *
     * @param groups the candidates in the order their gradients become ready
     *
     * @param dependsOn for each group, by index, the indices of the groups whose results it waits
     *     for (through any chain of data or ordering edges): a group never joins a bucket holding
     *     one of them (the bucket would wait for itself, e.g. the all-reduce of a gradient norm
     *     computed from reduced gradients)
     */
    static int[] assign(List<Candidate> groups, long bucketBytes, List<java.util.Set<Integer>> dependsOn) {
        if (bucketBytes <= 0) {
            throw new IllegalArgumentException("a gradient bucket must hold at least 1 byte, got " + bucketBytes);
        }
        Map<Key, List<List<Candidate>>> byKey = new LinkedHashMap<>();
        Map<Key, Long> filled = new LinkedHashMap<>();
        for (Candidate group : groups) {
            if (!group.fusable()) {
                continue;
            }
            Key key = new Key(List.copyOf(group.devices()), group.dtype(), group.phase(), group.conversion(),
                    group.phase() == Phase.UPDATE ? -1 : group.stage());
            List<List<Candidate>> buckets = byKey.computeIfAbsent(key, k -> new ArrayList<>());
            long used = filled.getOrDefault(key, 0L);
            boolean waitsForBucket = !buckets.isEmpty() && buckets.get(buckets.size() - 1).stream()
                    .anyMatch(other -> dependsOn.get(group.index()).contains(other.index()));
            if (buckets.isEmpty() || used + group.bytes() > bucketBytes || waitsForBucket) {
                buckets.add(new ArrayList<>());
                used = 0;
            }
            buckets.get(buckets.size() - 1).add(group);
            filled.put(key, used + group.bytes());
        }
        int[] bucketOf = new int[groups.size()];
        int next = 1;
        for (List<List<Candidate>> buckets : byKey.values()) {
            for (List<Candidate> bucket : buckets) {
                if (bucket.size() < 2) {
                    continue;
                }
                for (Candidate group : bucket) {
                    bucketOf[group.index()] = next;
                }
                next++;
            }
        }
        return bucketOf;
    }
}
