package dev.tessera.plan.compile;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.tessera.graph.DType;
import dev.tessera.graph.Phase;
import dev.tessera.sbp.boxing.CollectiveAlgorithm;
import dev.tessera.sbp.boxing.Conversion;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Where the compiler cuts gradient buckets: by size, by reduction group, and never around a dependency. */
class GradientBucketsTest {
    private static final List<Integer> PAIR = List.of(0, 1);

    @Test
    void shouldCutBucketsBySizeInPlanOrderAndLeaveSingletonsAlone() {
        // 40 + 40 fit 100; 40 more would not: a new bucket; 120 exceeds the limit: alone; then 30 + 30
        List<GradientBuckets.Candidate> groups = List.of(gradient(0, 40), gradient(1, 40), gradient(2, 40),
                gradient(3, 120), gradient(4, 30), gradient(5, 30));
        assertArrayEquals(new int[] {1, 1, 0, 0, 2, 2}, GradientBuckets.assign(groups, 100, none(groups.size())));
    }

    @Test
    void shouldFillABucketUpToTheLimitExactly() {
        List<GradientBuckets.Candidate> groups = List.of(gradient(0, 50), gradient(1, 50), gradient(2, 1));
        assertArrayEquals(new int[] {1, 1, 0}, GradientBuckets.assign(groups, 100, none(3)));
    }

    @Test
    void shouldKeepReductionGroupsApartAndFuseOnlyGradientAllReducesAndReduceScatters() {
        List<GradientBuckets.Candidate> groups = List.of(
                gradient(0, 10),
                new GradientBuckets.Candidate(1, Phase.BACKWARD_WEIGHT, Conversion.ALL_REDUCE, CollectiveAlgorithm.RING,
                        DType.F32, List.of(2, 3), 10),
                gradient(2, 10),
                new GradientBuckets.Candidate(3, Phase.BACKWARD_WEIGHT, Conversion.ALL_REDUCE, CollectiveAlgorithm.RING,
                        DType.F32, List.of(2, 3), 10),
                new GradientBuckets.Candidate(4, Phase.BACKWARD_WEIGHT, Conversion.ALL_REDUCE, CollectiveAlgorithm.RING,
                        DType.F64, PAIR, 10),
                new GradientBuckets.Candidate(5, Phase.FORWARD, Conversion.ALL_REDUCE, CollectiveAlgorithm.RING,
                        DType.F32, PAIR, 10),
                new GradientBuckets.Candidate(6, Phase.BACKWARD_WEIGHT, Conversion.REDUCE_SCATTER,
                        CollectiveAlgorithm.RING, DType.F32, PAIR, 10),
                new GradientBuckets.Candidate(7, Phase.UPDATE, Conversion.ALL_REDUCE, CollectiveAlgorithm.DIRECT,
                        DType.F32, PAIR, 10),
                new GradientBuckets.Candidate(8, Phase.UPDATE, Conversion.ALL_REDUCE, CollectiveAlgorithm.RING,
                        DType.F32, PAIR, 10),
                new GradientBuckets.Candidate(9, Phase.BACKWARD_WEIGHT, Conversion.REDUCE_SCATTER,
                        CollectiveAlgorithm.RING, DType.F32, PAIR, 10),
                new GradientBuckets.Candidate(10, Phase.BACKWARD_WEIGHT, Conversion.ALL_GATHER,
                        CollectiveAlgorithm.RING, DType.F32, PAIR, 10),
                new GradientBuckets.Candidate(11, Phase.BACKWARD_WEIGHT, Conversion.ALL_GATHER,
                        CollectiveAlgorithm.RING, DType.F32, PAIR, 10));
        // reduce-scatters fuse with each other (6 and 9), never with all-reduces; all-gathers not at all
        assertArrayEquals(new int[] {1, 2, 1, 2, 0, 0, 3, 4, 4, 3, 0, 0},
                GradientBuckets.assign(groups, 1000, none(12)));
    }

    @Test
    void shouldCloseTheBucketBeforeAGroupThatWaitsForOneInIt() {
        List<GradientBuckets.Candidate> groups = List.of(gradient(0, 10), gradient(1, 10), gradient(2, 10));
        List<Set<Integer>> dependsOn = List.of(Set.of(), Set.of(), Set.of(0));
        assertArrayEquals(new int[] {1, 1, 0}, GradientBuckets.assign(groups, 1000, dependsOn));
    }

    @Test
    void shouldCutWeightGradientBucketsByPipelineStage() {
        List<GradientBuckets.Candidate> groups = new ArrayList<>();
        int[] stages = {0, 0, 2, 2, 0};
        for (int g = 0; g < stages.length; g++) {
            groups.add(new GradientBuckets.Candidate(g, Phase.BACKWARD_WEIGHT, Conversion.ALL_REDUCE,
                    CollectiveAlgorithm.RING, DType.F32, PAIR, 10, stages[g]));
        }
        assertArrayEquals(new int[] {1, 1, 2, 2, 1}, GradientBuckets.assign(groups, 1000, none(5)));
    }

    @Test
    void shouldRefuseABucketOfNoBytes() {
        assertThrows(IllegalArgumentException.class, () -> GradientBuckets.assign(List.of(), 0, List.of()));
    }

    private static GradientBuckets.Candidate gradient(int index, long bytes) {
        return new GradientBuckets.Candidate(index, Phase.BACKWARD_WEIGHT, Conversion.ALL_REDUCE,
                CollectiveAlgorithm.RING, DType.F32, PAIR, bytes);
    }

    private static List<Set<Integer>> none(int groups) {
        List<Set<Integer>> out = new ArrayList<>();
        for (int g = 0; g < groups; g++) {
            out.add(Set.of());
        }
        return out;
    }
}
