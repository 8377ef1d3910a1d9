package dev.tessera.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.graph.DType;
import dev.tessera.graph.OpDef;
import dev.tessera.graph.TensorType;
import dev.tessera.sbp.Sbp;
import dev.tessera.sbp.SbpSignature;
import java.util.List;
import org.junit.jupiter.api.Test;

class NeuralOpsSbpTest {
    private static final TensorType X = TensorType.of(DType.F32, 2, 4, 4);
    private static final TensorType ROWS = TensorType.of(DType.F32, 2, 4);
    private static final TensorType VECTOR = TensorType.of(DType.F32, 4);
    private static final TensorType IDS = TensorType.of(DType.I32, 2, 4);
    private static final TensorType SCALAR = TensorType.of(DType.F32);

    /** Every signature names one SBP per input and output, and split axes exist in their tensors. */
    private static void assertWellFormed(OpDef def, List<TensorType> in) {
        List<TensorType> out = def.inferOutputs(in);
        List<SbpSignature> sigs = def.sbpSignatures(in);
        assertFalse(sigs.isEmpty(), def.type() + " declares no signature");
        for (SbpSignature s : sigs) {
            assertEquals(in.size(), s.inputs().size(), def.type() + " " + s);
            assertEquals(out.size(), s.outputs().size(), def.type() + " " + s);
            for (int i = 0; i < in.size(); i++) {
                if (s.inputs().get(i) instanceof Sbp.Split split) {
                    assertTrue(split.axis() < in.get(i).rank(), def.type() + " " + s);
                }
            }
            for (int i = 0; i < out.size(); i++) {
                if (s.outputs().get(i) instanceof Sbp.Split split) {
                    assertTrue(split.axis() < out.get(i).rank(), def.type() + " " + s);
                }
            }
        }
    }

    @Test
    void shouldDeclareWellFormedSignaturesForEveryNeuralOp() {
        assertWellFormed(new Softmax(true, 0.5), List.of(X));
        assertWellFormed(new SoftmaxGrad(1.0), List.of(X, X));
        assertWellFormed(new LayerNorm(1e-5), List.of(X, VECTOR, VECTOR));
        assertWellFormed(new LayerNormGradInput(), List.of(X, X, VECTOR, ROWS, ROWS));
        assertWellFormed(new LayerNormGradWeight(), List.of(X, X, ROWS, ROWS));
        assertWellFormed(new SoftmaxCrossEntropySum(), List.of(TensorType.of(DType.F32, 2, 4, 10), IDS));
        assertWellFormed(new SoftmaxCrossEntropySumGrad(), List.of(SCALAR, X, IDS));
        assertWellFormed(new CountLabels(DType.F32), List.of(IDS));
        assertWellFormed(new DivideByCount(), List.of(SCALAR, SCALAR));
        assertWellFormed(new Embedding(), List.of(TensorType.of(DType.F32, 10, 4), IDS));
        assertWellFormed(new EmbeddingGrad(10), List.of(X, IDS));
    }

    @Test
    void shouldNotSplitRowsOfACausalSoftmax() {
        List<SbpSignature> causal = new Softmax(true).sbpSignatures(List.of(X));
        assertTrue(causal.contains(SbpSignature.in(Sbp.split(0)).out(Sbp.split(0))));
        assertFalse(causal.contains(SbpSignature.in(Sbp.split(1)).out(Sbp.split(1))));
        assertTrue(new Softmax(false).sbpSignatures(List.of(X)).contains(SbpSignature.in(Sbp.split(1)).out(Sbp.split(1))));
    }

    @Test
    void shouldDeclareVocabularyParallelAndDataParallelEmbedding() {
        List<SbpSignature> sigs = new Embedding().sbpSignatures(List.of(TensorType.of(DType.F32, 10, 4), IDS));
        assertTrue(sigs.contains(SbpSignature.in(Sbp.split(0), Sbp.broadcast()).out(Sbp.partialSum())));
        assertTrue(sigs.contains(SbpSignature.in(Sbp.broadcast(), Sbp.split(1)).out(Sbp.split(1))));
    }

    @Test
    void shouldKeepLayerNormWeightsBroadcastWhenRowsAreSplit() {
        List<SbpSignature> sigs = new LayerNorm(1e-5).sbpSignatures(List.of(X, VECTOR, VECTOR));
        Sbp s = Sbp.split(0);
        assertTrue(sigs.contains(SbpSignature.in(s, Sbp.broadcast(), Sbp.broadcast()).out(s, s, s)));
        List<SbpSignature> weight = new LayerNormGradWeight().sbpSignatures(List.of(X, X, ROWS, ROWS));
        assertTrue(weight.contains(SbpSignature.in(s, s, s, s).out(Sbp.partialSum(), Sbp.partialSum())));
    }

    /** Every leading axis of the rows splits into a partial loss sum and a partial count; the vocabulary never splits. */
    @Test
    void shouldSplitCrossEntropyRowsIntoPartialSumsAndCounts() {
        TensorType logits = TensorType.of(DType.F32, 2, 4, 10);
        Sbp p = Sbp.partialSum();
        Sbp b = Sbp.broadcast();
        List<SbpSignature> sum = new SoftmaxCrossEntropySum().sbpSignatures(List.of(logits, IDS));
        List<SbpSignature> count = new CountLabels(DType.F32).sbpSignatures(List.of(IDS));
        List<SbpSignature> grad = new SoftmaxCrossEntropySumGrad().sbpSignatures(List.of(SCALAR, X, IDS));
        for (int axis = 0; axis < 2; axis++) {
            Sbp s = Sbp.split(axis);
            assertTrue(sum.contains(SbpSignature.in(s, s).out(p, s)), sum.toString());
            assertTrue(count.contains(SbpSignature.in(s).out(p)), count.toString());
            assertTrue(grad.contains(SbpSignature.in(b, s, s).out(s)), grad.toString());
        }
        assertTrue(sum.contains(SbpSignature.uniform(2, 2, b)) && count.contains(SbpSignature.uniform(1, 1, b)));
        assertTrue(sum.stream().noneMatch(sig -> sig.inputs().get(0).equals(Sbp.split(2))), sum.toString());
        assertEquals(3, sum.size(), sum.toString());
        List<SbpSignature> divide = new DivideByCount().sbpSignatures(List.of(SCALAR, SCALAR));
        assertEquals(List.of(SbpSignature.uniform(2, 1, b)), divide, "the mean (the loss) stays broadcast");
    }
}
