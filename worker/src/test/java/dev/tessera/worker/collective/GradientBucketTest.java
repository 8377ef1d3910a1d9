package dev.tessera.worker.collective;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.tessera.graph.Shape;
import dev.tessera.runtime.transport.Communicator;
import dev.tessera.runtime.transport.ElementType;
import dev.tessera.runtime.transport.TensorBuffer;
import dev.tessera.sbp.Sbp;
import dev.tessera.sbp.boxing.CollectiveAlgorithm;
import dev.tessera.sbp.boxing.Conversion;
import dev.tessera.sbp.boxing.GroupParts;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A bucket of reduce-scatters leaves every member's shard of every gradient bit for bit what the
 * gradient's own ring reduce-scatter leaves there, and sends the same bytes: also for a split of
 * an inner axis (each part of the gradient non-contiguous), unequal parts and a chunk smaller than
 * a part.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class GradientBucketTest {
    /** Shapes and split axes of the bucket's gradients: rows, an inner axis (strided parts), a vector. */
    private static final long[][] SHAPES = {{5, 3}, {4, 7}, {6}};
    private static final int[] AXES = {0, 1, 0};
    private static final int CHUNK_ELEMENTS = 4;

    @ParameterizedTest(name = "{0} members")
    @ValueSource(ints = {2, 3, 4})
    void shouldReduceScatterEachGradientIntoItsShardLikeItsOwnRing(int peers) throws Exception {
        List<GroupParts> parts = new ArrayList<>();
        for (int j = 0; j < SHAPES.length; j++) {
            parts.add(GroupParts.of(Conversion.REDUCE_SCATTER, Sbp.partialSum(), Sbp.split(AXES[j]),
                    Shape.of(SHAPES[j]), peers));
        }
        int[] members = new int[peers];
        for (int rank = 0; rank < peers; rank++) {
            members[rank] = rank;
        }
        SplittableRandom random = new SplittableRandom(11);
        List<List<TensorBuffer>> inputs = new ArrayList<>();
        for (GroupParts gradient : parts) {
            List<TensorBuffer> perMember = new ArrayList<>();
            for (int rank = 0; rank < peers; rank++) {
                TensorBuffer input = TensorBuffer.allocate(ElementType.F32, Math.toIntExact(gradient.elements()));
                for (int e = 0; e < input.elements(); e++) {
                    input.putFloat(e, (float) random.nextGaussian());
                }
                perMember.add(input);
            }
            inputs.add(perMember);
        }
        try (MemberGroup group = new MemberGroup(peers)) {
            List<List<TensorBuffer>> expected = new ArrayList<>();
            for (int j = 0; j < parts.size(); j++) {
                List<CollectiveSchedule> schedules = new ArrayList<>();
                List<TensorBuffer> outputs = new ArrayList<>();
                for (int rank = 0; rank < peers; rank++) {
                    schedules.add(Collectives.conversion(parts.get(j), CollectiveAlgorithm.RING, rank, CHUNK_ELEMENTS));
                    outputs.add(TensorBuffer.allocate(ElementType.F32,
                            Math.toIntExact(parts.get(j).after(rank).elements())));
                }
                group.run(members, schedules, inputs.get(j), outputs);
                expected.add(outputs);
            }
            long[] ownRings = new long[peers];
            for (int rank = 0; rank < peers; rank++) {
                ownRings[rank] = group.sentBy(rank);
            }
            group.resetCounts();

            List<Communicator> communicators = group.communicators(members);
            List<CompletableFuture<Void>> arrivals = new ArrayList<>();
            List<List<TensorBuffer>> actual = new ArrayList<>();
            for (int rank = 0; rank < peers; rank++) {
                GradientBucket bucket = GradientBucket.reduceScatter("test", parts, ElementType.F32,
                        communicators.get(rank), CHUNK_ELEMENTS, CollectiveMember.DEFAULT_WINDOW);
                List<TensorBuffer> shards = new ArrayList<>();
                for (int j = 0; j < parts.size(); j++) {
                    TensorBuffer shard = TensorBuffer.allocate(ElementType.F32,
                            Math.toIntExact(parts.get(j).after(rank).elements()));
                    shards.add(shard);
                    arrivals.add(bucket.arrive(j, inputs.get(j).get(rank), shard, group.thread(rank)));
                }
                actual.add(shards);
            }
            CompletableFuture.allOf(arrivals.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
            for (int rank = 0; rank < peers; rank++) {
                assertEquals(ownRings[rank], group.sentBy(rank), "bytes member " + rank + " sent");
                for (int j = 0; j < parts.size(); j++) {
                    TensorBuffer want = expected.get(j).get(rank);
                    TensorBuffer got = actual.get(rank).get(j);
                    for (int e = 0; e < want.elements(); e++) {
                        assertEquals(Float.floatToRawIntBits(want.getFloat(e)), Float.floatToRawIntBits(got.getFloat(e)),
                                "gradient " + j + ", member " + rank + ", element " + e);
                    }
                }
            }
        }
    }

    @Test
    void shouldFailEveryArrivalWhenAResultCannotBeWrittenInsteadOfLeavingThemWaiting() throws Exception {
        try (MemberGroup group = new MemberGroup(2)) {
            List<Communicator> communicators = group.communicators(new int[] {0, 1});
            List<CompletableFuture<Void>> arrivals = new ArrayList<>();
            for (int rank = 0; rank < 2; rank++) {
                GradientBucket bucket = new GradientBucket("test", new long[] {3, 5}, ElementType.F32,
                        communicators.get(rank), CHUNK_ELEMENTS, CollectiveMember.DEFAULT_WINDOW);
                TensorBuffer writable = TensorBuffer.allocate(ElementType.F32, 3);
                // the second gradient's output refuses writes
                TensorBuffer readOnly = TensorBuffer.wrap(ElementType.F32,
                        TensorBuffer.allocate(ElementType.F32, 5).region().asReadOnlyBuffer(), 5);
                arrivals.add(bucket.arrive(0, TensorBuffer.allocate(ElementType.F32, 3), writable, group.thread(rank)));
                arrivals.add(bucket.arrive(1, TensorBuffer.allocate(ElementType.F32, 5), readOnly, group.thread(rank)));
            }
            for (CompletableFuture<Void> arrival : arrivals) {
                java.util.concurrent.ExecutionException failed = assertThrows(
                        java.util.concurrent.ExecutionException.class, () -> arrival.get(30, TimeUnit.SECONDS));
                assertEquals(java.nio.ReadOnlyBufferException.class, failed.getCause().getClass());
            }
        }
    }

    @Test
    void shouldRefuseAGradientThatIsNotAReduceScatterOverTheBucketsPeers() {
        try (MemberGroup group = new MemberGroup(2)) {
            Communicator communicator = group.communicators(new int[] {0, 1}).get(0);
            List<GroupParts> allReduce = List.of(GroupParts.of(Conversion.ALL_REDUCE, Sbp.partialSum(),
                    Sbp.broadcast(), Shape.of(4), 2));
            assertThrows(IllegalArgumentException.class, () -> GradientBucket.reduceScatter("test", allReduce,
                    ElementType.F32, communicator, CHUNK_ELEMENTS, CollectiveMember.DEFAULT_WINDOW));
        }
    }
}
