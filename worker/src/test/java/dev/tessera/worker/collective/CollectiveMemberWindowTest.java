package dev.tessera.worker.collective;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.graph.Shape;
import dev.tessera.runtime.plan.Device;
import dev.tessera.runtime.transport.Communicator;
import dev.tessera.runtime.transport.ElementType;
import dev.tessera.runtime.transport.InProcessTransport;
import dev.tessera.runtime.transport.SentBytes;
import dev.tessera.runtime.transport.TensorBuffer;
import dev.tessera.runtime.transport.TransportCommunicator;
import dev.tessera.sbp.Sbp;
import dev.tessera.sbp.boxing.CollectiveAlgorithm;
import dev.tessera.sbp.boxing.Conversion;
import dev.tessera.sbp.boxing.GroupParts;
import dev.tessera.worker.collective.CollectiveSchedule.Round;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A member's window of rounds in flight: a ring keeps several receives posted at once (so the
 * transport always has the next chunk to move while a sum runs), a round never goes out before
 * the round whose result it sends, and any window gives the bits of rounds run one by one.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class CollectiveMemberWindowTest {

    @Test
    void shouldKeepSeveralRingRoundsInFlightWithTheDefaultWindow() throws Exception {
        assertEquals(1, mostReceivesInFlight(1));
        int most = mostReceivesInFlight(CollectiveMember.DEFAULT_WINDOW);
        assertTrue(most >= RingSchedules.STAGING_SLOTS, "at most " + most + " receives were posted at once");
    }

    @Test
    void shouldGiveTheSameBitsWithAnyWindow() throws Exception {
        for (int peers = 2; peers <= 4; peers++) {
            for (Conversion conversion : List.of(Conversion.ALL_REDUCE, Conversion.REDUCE_SCATTER)) {
                float[][] oneByOne = run(conversion, peers, 1, null);
                for (int window : new int[] {2, 5, CollectiveMember.DEFAULT_WINDOW, 32}) {
                    float[][] windowed = run(conversion, peers, window, null);
                    for (int m = 0; m < peers; m++) {
                        for (int i = 0; i < oneByOne[m].length; i++) {
                            assertEquals(Float.floatToRawIntBits(oneByOne[m][i]), Float.floatToRawIntBits(windowed[m][i]),
                                    conversion + " of " + peers + " members, window " + window + ": member " + m
                                            + " element " + i);
                        }
                    }
                }
            }
        }
    }

    @Test
    void shouldSendAReductionChunkOnlyAfterTheRoundThatSummedIt() {
        GroupParts parts = GroupParts.of(Conversion.ALL_REDUCE, Sbp.partialSum(), Sbp.broadcast(), Shape.of(96), 3);
        List<Round> rounds = Collectives.conversion(parts, CollectiveAlgorithm.RING, 0, 8).rounds();
        int[] after = RoundHazards.postAfter(rounds, 64);
        // 32 elements a part, 4 chunks a step: step 1 chunk c sends what step 0 chunk c summed
        for (int c = 0; c < 4; c++) {
            int step1 = 4 + c;
            assertTrue(after[step1] >= c, "step 1 chunk " + c + " may go after round " + after[step1]);
        }
        // step 0 sends only the input, which no round writes; its receives sum into distinct pieces
        for (int c = 0; c < RingSchedules.STAGING_SLOTS; c++) {
            assertEquals(-1, after[c], "round " + c);
        }
    }

    @Test
    void shouldRefuseAWindowBelowOne() {
        GroupParts parts = GroupParts.of(Conversion.ALL_REDUCE, Sbp.partialSum(), Sbp.broadcast(), Shape.of(8), 2);
        CollectiveSchedule schedule = Collectives.conversion(parts, CollectiveAlgorithm.RING, 0, 2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new CollectiveMember(schedule, null, ElementType.F32, 0));
        assertTrue(e.getMessage().contains("window of at least 1"), e.getMessage());
    }

    private static int mostReceivesInFlight(int window) throws Exception {
        AtomicInteger most = new AtomicInteger();
        run(Conversion.ALL_REDUCE, 2, window, most);
        return most.get();
    }

    /** Runs a ring conversion of 1,000 random F32 elements (chunks of 7) over {@code peers} members; their outputs. */
    private static float[][] run(Conversion conversion, int peers, int window, AtomicInteger mostInFlight)
            throws Exception {
        Shape shape = Shape.of(1000);
        GroupParts parts = GroupParts.of(conversion, Sbp.partialSum(),
                conversion == Conversion.ALL_REDUCE ? Sbp.broadcast() : Sbp.split(0), shape, peers);
        List<Device> devices = new ArrayList<>();
        for (int d = 0; d < peers; d++) {
            devices.add(new Device(d, "cpu:" + d));
        }
        List<ExecutorService> threads = new ArrayList<>();
        try (InProcessTransport transport = new InProcessTransport(devices, Duration.ofSeconds(10))) {
            SentBytes sent = new SentBytes(peers);
            List<CompletableFuture<Void>> runs = new ArrayList<>();
            List<TensorBuffer> outputs = new ArrayList<>();
            AtomicInteger inFlight = new AtomicInteger();
            for (int m = 0; m < peers; m++) {
                SplittableRandom random = new SplittableRandom(17 + m);
                TensorBuffer input = TensorBuffer.allocate(ElementType.F32, 1000);
                for (int i = 0; i < 1000; i++) {
                    input.putFloat(i, (float) random.nextGaussian());
                }
                TensorBuffer output = TensorBuffer.allocate(ElementType.F32, parts.after(m).shape().toArray());
                outputs.add(output);
                Communicator communicator = new TransportCommunicator(transport, 1, devices, m, sent);
                if (m == 0 && mostInFlight != null) {
                    communicator = counting(communicator, inFlight, mostInFlight);
                }
                CollectiveMember member = new CollectiveMember(
                        Collectives.conversion(parts, CollectiveAlgorithm.RING, m, 7), communicator, ElementType.F32,
                        window);
                ExecutorService thread = Executors.newSingleThreadExecutor();
                threads.add(thread);
                runs.add(member.run(member.bind(input, output), thread));
                if (m == 0 && mostInFlight != null) {
                    // let member 0 post what its window allows before any peer answers
                    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                    while (inFlight.get() < Math.min(window, RingSchedules.STAGING_SLOTS) && System.nanoTime() < until) {
                        Thread.sleep(1);
                    }
                }
            }
            CompletableFuture.allOf(runs.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
            float[][] result = new float[peers][];
            for (int m = 0; m < peers; m++) {
                result[m] = new float[outputs.get(m).elements()];
                for (int i = 0; i < result[m].length; i++) {
                    result[m][i] = outputs.get(m).getFloat(i);
                }
            }
            return result;
        } finally {
            threads.forEach(ExecutorService::shutdownNow);
        }
    }

    /** A communicator that counts the receives posted and not yet completed, and the most at once. */
    private static Communicator counting(Communicator inner, AtomicInteger inFlight, AtomicInteger most) {
        return new Communicator() {
            @Override
            public int rank() {
                return inner.rank();
            }

            @Override
            public int size() {
                return inner.size();
            }

            @Override
            public Device device(int rank) {
                return inner.device(rank);
            }

            @Override
            public CompletableFuture<Void> send(int peer, long tag, TensorBuffer payload) {
                return inner.send(peer, tag, payload);
            }

            @Override
            public CompletableFuture<Void> receive(int peer, long tag, TensorBuffer into) {
                most.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
                return inner.receive(peer, tag, into).whenComplete((ignored, failure) -> inFlight.decrementAndGet());
            }

            @Override
            public CompletableFuture<Void> receiveSum(int peer, long tag, TensorBuffer base, TensorBuffer into) {
                most.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
                return inner.receiveSum(peer, tag, base, into).whenComplete((ignored, failure) -> inFlight.decrementAndGet());
            }

            @Override
            public long bytesSent() {
                return inner.bytesSent();
            }
        };
    }
}
