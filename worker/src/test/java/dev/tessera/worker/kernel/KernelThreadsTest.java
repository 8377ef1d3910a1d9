package dev.tessera.worker.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.graph.DType;
import dev.tessera.graph.OpDef;
import dev.tessera.ops.Add;
import dev.tessera.ops.BiasAdd;
import dev.tessera.ops.Gelu;
import dev.tessera.ops.LayerNorm;
import dev.tessera.ops.LayerNormGradInput;
import dev.tessera.ops.GeluGrad;
import dev.tessera.ops.Softmax;
import dev.tessera.ops.SoftmaxGrad;
import dev.tessera.ops.SumRows;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

@Timeout(60)
class KernelThreadsTest {
    @AfterEach
    void restoreTheDefault() {
        KernelThreads.set(1);
    }

    /** One op on tensors large enough to be cut into 2 and 3 parts: the same bits as in one. */
    private static void assertSameBitsForAnyBudget(OpDef def, int[]... shapes) {
        INDArray[] inputs = new INDArray[shapes.length];
        for (int i = 0; i < shapes.length; i++) {
            long[] dims = java.util.Arrays.stream(shapes[i]).asLongStream().toArray();
            inputs[i] = Nd4j.rand(DataType.FLOAT, dims).subi(0.5).muli(8);
        }
        OneOpHarness op = OneOpHarness.of(def, DType.F32, shapes);
        KernelThreads.set(1);
        float[] alone = op.run(inputs).data().asFloat();
        for (int budget : new int[] {2, 3}) {
            KernelThreads.set(budget);
            assertArrayEquals(alone, op.run(inputs).data().asFloat(), def + " with a budget of " + budget);
        }
    }

    @Test
    void shouldGiveGeluTheSameBitsOnSeveralThreads() {
        assertSameBitsForAnyBudget(new Gelu(), new int[] {7, 129, 257});
        assertSameBitsForAnyBudget(new GeluGrad(), new int[] {7, 129, 257}, new int[] {7, 129, 257});
    }

    @Test
    void shouldGiveSoftmaxTheSameBitsOnSeveralThreads() {
        // causal rows: each row's visible length depends on its index, which a cut must keep
        assertSameBitsForAnyBudget(new Softmax(true, 0.25), new int[] {3, 5, 67, 67});
        assertSameBitsForAnyBudget(new Softmax(false, 1.0), new int[] {3, 5, 67, 67});
        assertSameBitsForAnyBudget(new SoftmaxGrad(0.25), new int[] {3, 5, 67, 67}, new int[] {3, 5, 67, 67});
    }

    @Test
    void shouldGiveAddAndBiasAddTheSameBitsOnSeveralThreads() {
        assertSameBitsForAnyBudget(new Add(), new int[] {9, 131, 67}, new int[] {9, 131, 67});
        // rows of 67 columns: the parts must start at whole rows
        assertSameBitsForAnyBudget(new BiasAdd(), new int[] {9, 131, 67}, new int[] {67});
        // column sums cut by columns: 67 columns in parts of whole vectors and a rest
        assertSameBitsForAnyBudget(new SumRows(), new int[] {9, 131, 67});
        assertSameBitsForAnyBudget(new SumRows(), new int[] {1100, 300});
    }

    @Test
    void shouldGiveLayerNormTheSameBitsOnSeveralThreads() {
        assertSameBitsForAnyBudget(new LayerNorm(1e-5), new int[] {9, 131, 67}, new int[] {67}, new int[] {67});
        assertSameBitsForAnyBudget(new LayerNormGradInput(), new int[] {9, 131, 67}, new int[] {9, 131, 67},
                new int[] {67}, new int[] {9, 131}, new int[] {9, 131});
    }

    @Test
    void shouldRunEveryPartOnceAndUseOtherThreads() {
        KernelThreads.set(3);
        assertEquals(3, KernelThreads.parts(10L * KernelThreads.MIN_PART, 1));
        assertEquals(1, KernelThreads.parts(KernelThreads.MIN_PART, 1), "too little work to share");
        Set<Integer> ran = ConcurrentHashMap.newKeySet();
        Set<Thread> threads = ConcurrentHashMap.newKeySet();
        CountDownLatch together = new CountDownLatch(3);
        KernelThreads.run(3, part -> {
            ran.add(part);
            threads.add(Thread.currentThread());
            together.countDown();
            try {
                // every part waits for the others: only parts running at once get past this
                assertTrue(together.await(20, TimeUnit.SECONDS), "the parts did not run at once");
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        assertEquals(Set.of(0, 1, 2), ran);
        assertEquals(3, threads.size());
        assertTrue(threads.contains(Thread.currentThread()), "part 0 runs on the caller");
    }

    @Test
    void shouldRethrowAPartsFailureAfterEveryPartEnded() {
        IllegalStateException failure = new IllegalStateException("part 2 failed");
        Set<Integer> finished = ConcurrentHashMap.newKeySet();
        RuntimeException thrown = assertThrows(RuntimeException.class, () -> KernelThreads.run(3, part -> {
            if (part == 2) {
                throw failure;
            }
            finished.add(part);
        }));
        assertSame(failure, thrown);
        assertEquals(Set.of(0, 1), finished);
    }
}
