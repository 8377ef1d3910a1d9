package dev.tessera.worker.kernel;

import static dev.tessera.worker.kernel.NeuralKernelsTest.floats;
import static dev.tessera.worker.kernel.NeuralKernelsTest.tolerance;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.graph.DType;
import dev.tessera.graph.Tensor;
import dev.tessera.tensor.Tolerance;
import dev.tessera.ops.CountLabels;
import dev.tessera.ops.DivideByCount;
import dev.tessera.ops.SoftmaxCrossEntropySum;
import dev.tessera.ops.SoftmaxCrossEntropySumGrad;
import java.util.Arrays;
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
    private static final double ROW0 = Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3)) - 3;
    /** softmax([0, 0, log 2]) = [1/4, 1/4, 1/2]. */
    private static final double ROW2 = Math.log(4);

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64"})
    void shouldSumLossOverCountedLabelsOnly(DType dtype) {
        GraphHarness h = new GraphHarness(dtype);
        Tensor logits = h.input("logits", floats(dtype, LOGITS, 3, 3));
        Tensor labels = h.input("labels", Nd4j.createFromArray(LABELS));
        List<Tensor> out = h.apply(new SoftmaxCrossEntropySum(), logits, labels);
        Tensor count = h.apply(new CountLabels(dtype), labels).get(0);
        h.runAll();
        assertEquals(ROW0 + ROW2, h.value(out.get(0)).getDouble(0), tolerance(dtype));
        assertEquals(1.0 / 3, h.value(out.get(1)).getDouble(1, 0), tolerance(dtype));
        assertEquals(0.5, h.value(out.get(1)).getDouble(2, 2), tolerance(dtype));
        assertEquals(2.0, h.value(count).getDouble(0), 0.0);
        assertEquals(dtype, GraphHarness.dtypeOf(h.value(count)));
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64"})
    void shouldAverageLossOverCountedLabelsThroughTheBuilder(DType dtype) {
        GraphHarness h = new GraphHarness(dtype);
        Tensor logits = h.input("logits", floats(dtype, LOGITS, 3, 3));
        Tensor labels = h.input("labels", Nd4j.createFromArray(LABELS));
        Tensor loss = h.builder.crossEntropy(logits, labels);
        h.runAll();
        assertEquals((ROW0 + ROW2) / 2, h.value(loss).getDouble(0), tolerance(dtype));
    }

    /** What two data-parallel devices compute: sums and counts of their rows, added, then divided. */
    @Test
    void shouldGiveTheWholeBatchMeanFromPartialSumsAndCountsOfRowHalves() {
        GraphHarness h = new GraphHarness(DType.F64);
        double[] logits = {1, 2, 3, 0, 0, Math.log(2), 5, 5, 5, -1, 4, 0};
        Tensor top = h.input("top", floats(DType.F64, Arrays.copyOfRange(logits, 0, 6), 2, 3));
        Tensor bottom = h.input("bottom", floats(DType.F64, Arrays.copyOfRange(logits, 6, 12), 2, 3));
        Tensor topLabels = h.input("top_labels", Nd4j.createFromArray(new int[] {2, 0}));
        Tensor bottomLabels = h.input("bottom_labels", Nd4j.createFromArray(new int[] {-1, 1}));
        Tensor sum = h.builder.add(h.apply(new SoftmaxCrossEntropySum(), top, topLabels).get(0),
                h.apply(new SoftmaxCrossEntropySum(), bottom, bottomLabels).get(0));
        Tensor count = h.builder.add(h.apply(new CountLabels(DType.F64), topLabels).get(0),
                h.apply(new CountLabels(DType.F64), bottomLabels).get(0));
        Tensor mean = h.apply(new DivideByCount(), sum, count).get(0);
        Tensor all = h.input("all", floats(DType.F64, logits, 4, 3));
        Tensor allLabels = h.input("all_labels", Nd4j.createFromArray(new int[] {2, 0, -1, 1}));
        Tensor whole = h.builder.crossEntropy(all, allLabels);
        h.runAll();
        double row3 = Math.log(Math.exp(-1) + Math.exp(4) + 1) - 4;
        Tolerance.of(DType.F64).requireClose("mean over the counted rows", (ROW0 + ROW2 + row3) / 3, h.value(whole).getDouble(0));
        Tolerance.of(DType.F64).requireClose("split sum over split count", h.value(whole).getDouble(0), h.value(mean).getDouble(0));
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "F64"})
    void shouldGiveZeroGradientRowsForIgnoredLabels(DType dtype) {
        GraphHarness h = new GraphHarness(dtype);
        Tensor dSum = h.input("dsum", floats(dtype, new double[] {2}));
        Tensor probabilities = h.input("p", floats(dtype, new double[] {.2, .3, .5, .1, .1, .8, .25, .25, .5}, 3, 3));
        Tensor labels = h.input("labels", Nd4j.createFromArray(LABELS));
        Tensor dLogits = h.apply(new SoftmaxCrossEntropySumGrad(), dSum, probabilities, labels).get(0);
        h.runAll();
        double[] expected = {.4, .6, -1, 0, 0, 0, -1.5, .5, 1};
        assertArrayEquals(expected, h.value(dLogits).castTo(DataType.DOUBLE).data().asDouble(), 10 * tolerance(dtype));
    }

    @Test
    void shouldDivideByTheCountAndGiveZeroForAZeroCount() {
        GraphHarness h = new GraphHarness(DType.F64);
        Tensor six = h.input("six", Nd4j.scalar(6.0));
        Tensor three = h.input("three", Nd4j.scalar(3.0));
        Tensor zero = h.input("zero", Nd4j.scalar(0.0));
        Tensor mean = h.apply(new DivideByCount(), six, three).get(0);
        Tensor none = h.apply(new DivideByCount(), six, zero).get(0);
        h.runAll();
        assertEquals(2.0, h.value(mean).getDouble(0), 0.0);
        assertEquals(0.0, h.value(none).getDouble(0), 0.0);
    }

    @Test
    void shouldGiveZeroLossAndGradientWhenEveryLabelIsIgnored() {
        GraphHarness h = new GraphHarness(DType.F64);
        Tensor logits = h.input("logits", floats(DType.F64, LOGITS, 3, 3));
        Tensor labels = h.input("labels", Nd4j.createFromArray(new int[] {-1, -1, -100}));
        List<Tensor> sum = h.apply(new SoftmaxCrossEntropySum(), logits, labels);
        Tensor count = h.apply(new CountLabels(DType.F64), labels).get(0);
        Tensor loss = h.apply(new DivideByCount(), sum.get(0), count).get(0);
        Tensor dLoss = h.input("dloss", Nd4j.scalar(1.0));
        Tensor dSum = h.apply(new DivideByCount(), dLoss, count).get(0);
        Tensor dLogits = h.apply(new SoftmaxCrossEntropySumGrad(), dSum, sum.get(1), labels).get(0);
        h.runAll();
        assertEquals(0.0, h.value(count).getDouble(0), 0.0);
        assertEquals(0.0, h.value(sum.get(0)).getDouble(0), 0.0);
        assertEquals(0.0, h.value(loss).getDouble(0), 0.0);
        assertEquals(0.0, h.value(dLogits).amaxNumber().doubleValue(), 0.0);
    }

    @Test
    void shouldKeepLossFiniteWhenTheLabelProbabilityUnderflows() {
        GraphHarness h = new GraphHarness(DType.F32);
        Tensor logits = h.input("logits", floats(DType.F32, new double[] {0, 200}, 1, 2));
        Tensor labels = h.input("labels", Nd4j.createFromArray(new int[] {0}));
        Tensor loss = h.builder.crossEntropy(logits, labels);
        h.runAll();
        Tolerance.of(DType.F32).requireClose("loss of an underflowing label probability", 200.0, h.value(loss).getDouble(0));
    }

    @Test
    void shouldNameOpLabelAndVocabularyWhenLabelIsTooLarge() {
        GraphHarness h = new GraphHarness(DType.F32);
        Tensor logits = h.input("logits", Nd4j.zeros(DataType.FLOAT, 2, 3));
        Tensor labels = h.input("labels", Nd4j.createFromArray(new int[] {1, 3}));
        h.builder.crossEntropy(logits, labels);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, h::runAll);
        String m = e.getMessage();
        assertTrue(m.contains("softmax_cross_entropy_sum") && m.contains("label 3") && m.contains("vocabulary size 3"), m);
    }
}
