package dev.tessera.worker.kernel;

import static dev.tessera.worker.kernel.NeuralKernelsTest.floats;
import static dev.tessera.worker.kernel.NeuralKernelsTest.tolerance;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.graph.DType;
import dev.tessera.graph.Tensor;
import dev.tessera.ops.SoftmaxCrossEntropy;
import dev.tessera.ops.SoftmaxCrossEntropyGrad;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

class CrossEntropyKernelsTest {

    /** Three rows over a vocabulary of 3; the middle label is ignored. */
    private static final double[] LOGITS = {1, 2, 3, 5, 5, 5, 0, 0, Math.log(2)};
    private static final int[] LABELS = {2, -1, 0};

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64"})
    void shouldAverageLossOverCountedLabelsOnly(DType dtype) {
        GraphHarness h = new GraphHarness(dtype);
        Tensor logits = h.input("logits", floats(dtype, LOGITS, 3, 3));
        Tensor labels = h.input("labels", Nd4j.createFromArray(LABELS));
        List<Tensor> out = h.apply(new SoftmaxCrossEntropy(), logits, labels);
        h.runAll();
        double row0 = Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3)) - 3;
        double row2 = Math.log(4); // softmax([0, 0, log 2]) = [1/4, 1/4, 1/2]
        assertEquals((row0 + row2) / 2, h.value(out.get(0)).getDouble(0), tolerance(dtype));
        assertEquals(1.0 / 3, h.value(out.get(1)).getDouble(1, 0), tolerance(dtype));
        assertEquals(0.5, h.value(out.get(1)).getDouble(2, 2), tolerance(dtype));
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64"})
    void shouldGiveZeroGradientRowsForIgnoredLabels(DType dtype) {
        GraphHarness h = new GraphHarness(dtype);
        Tensor dLoss = h.input("dloss", floats(dtype, new double[] {4}));
        Tensor probabilities = h.input("p", floats(dtype, new double[] {.2, .3, .5, .1, .1, .8, .25, .25, .5}, 3, 3));
        Tensor labels = h.input("labels", Nd4j.createFromArray(LABELS));
        Tensor dLogits = h.apply(new SoftmaxCrossEntropyGrad(), dLoss, probabilities, labels).get(0);
        h.runAll();
        // Two counted labels: factor = 4 / 2 = 2.
        double[] expected = {.4, .6, -1, 0, 0, 0, -1.5, .5, 1};
        assertArrayEquals(expected, h.value(dLogits).castTo(DataType.DOUBLE).data().asDouble(), 10 * tolerance(dtype));
    }

    @Test
    void shouldGiveZeroLossAndGradientWhenEveryLabelIsIgnored() {
        GraphHarness h = new GraphHarness(DType.F64);
        Tensor logits = h.input("logits", floats(DType.F64, LOGITS, 3, 3));
        Tensor labels = h.input("labels", Nd4j.createFromArray(new int[] {-1, -1, -100}));
        List<Tensor> out = h.apply(new SoftmaxCrossEntropy(), logits, labels);
        Tensor dLoss = h.input("dloss", Nd4j.scalar(1.0));
        Tensor dLogits = h.apply(new SoftmaxCrossEntropyGrad(), dLoss, out.get(1), labels).get(0);
        h.runAll();
        assertEquals(0.0, h.value(out.get(0)).getDouble(0), 0.0);
        assertEquals(0.0, h.value(dLogits).amaxNumber().doubleValue(), 0.0);
    }

    @Test
    void shouldKeepLossFiniteWhenTheLabelProbabilityUnderflows() {
        GraphHarness h = new GraphHarness(DType.F32);
        Tensor logits = h.input("logits", floats(DType.F32, new double[] {0, 200}, 1, 2));
        Tensor labels = h.input("labels", Nd4j.createFromArray(new int[] {0}));
        Tensor loss = h.apply(new SoftmaxCrossEntropy(), logits, labels).get(0);
        h.runAll();
        assertEquals(200.0, h.value(loss).getDouble(0), 1e-4);
    }

    @Test
    void shouldNameOpLabelAndVocabularyWhenLabelIsTooLarge() {
        GraphHarness h = new GraphHarness(DType.F32);
        Tensor logits = h.input("logits", Nd4j.zeros(DataType.FLOAT, 2, 3));
        Tensor labels = h.input("labels", Nd4j.createFromArray(new int[] {1, 3}));
        h.builder.crossEntropy(logits, labels);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, h::runAll);
        String m = e.getMessage();
        assertTrue(m.contains("softmax_cross_entropy") && m.contains("label 3") && m.contains("vocabulary size 3"), m);
    }
}
