package dev.tessera.ops;

import static dev.tessera.sbp.Sbp.broadcast;
import static dev.tessera.sbp.Sbp.partialSum;
import static dev.tessera.sbp.Sbp.split;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.graph.DType;
import dev.tessera.graph.TensorType;
import dev.tessera.sbp.SbpSignature;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The SBP signatures that follow from each op's math. */
class OpsGroupASbpTest {
    private static final List<TensorType> CUBE = List.of(TensorType.of(DType.F32, 2, 3, 4));

    @Test
    void shouldGivePartialSumWhenSummedAxisIsSplit() {
        List<SbpSignature> sigs = new ReduceSum(1).sbpSignatures(CUBE);
        assertTrue(sigs.contains(SbpSignature.in(split(1)).out(partialSum())));
        assertTrue(sigs.contains(SbpSignature.in(split(0)).out(split(0))));
        assertTrue(sigs.contains(SbpSignature.in(split(2)).out(split(1))), "axes after the reduced one shift down");
    }

    @Test
    void shouldNotTreatSplitMeanAsPartialSum() {
        assertFalse(new ReduceMean(1).sbpSignatures(CUBE).contains(SbpSignature.in(split(1)).out(partialSum())));
    }

    @Test
    void shouldPassPartialSumThroughMulOnlyAgainstWholeTensor() {
        List<TensorType> two = List.of(CUBE.get(0), CUBE.get(0));
        List<SbpSignature> sigs = new Mul().sbpSignatures(two);
        assertTrue(sigs.contains(SbpSignature.in(partialSum(), broadcast()).out(partialSum())));
        assertFalse(sigs.contains(SbpSignature.uniform(2, 1, partialSum())), "P * P is not a partial product");
    }

    @Test
    void shouldNotSplitTheSlicedOrConcatenatedAxis() {
        assertFalse(new Slice(2, 0, 2).sbpSignatures(CUBE).contains(SbpSignature.in(split(2)).out(split(2))));
        assertTrue(new Slice(2, 0, 2).sbpSignatures(CUBE).contains(SbpSignature.in(split(0)).out(split(0))));
        assertFalse(new Concat(0).sbpSignatures(List.of(CUBE.get(0), CUBE.get(0)))
                .contains(SbpSignature.uniform(2, 1, split(0))));
    }

    @Test
    void shouldRunDropoutOnlyOnWholeTensors() {
        assertTrue(new Dropout(0.1, 1).sbpSignatures(CUBE).equals(List.of(SbpSignature.in(broadcast()).out(broadcast()))));
    }

    @Test
    void shouldNotPassPartialSumThroughNonlinearActivations() {
        assertFalse(new Gelu().sbpSignatures(CUBE).contains(SbpSignature.uniform(1, 1, partialSum())));
        assertTrue(new Scale(2).sbpSignatures(CUBE).contains(SbpSignature.uniform(1, 1, partialSum())));
    }
}
