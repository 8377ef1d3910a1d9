package dev.tessera.sbp;

import static dev.tessera.sbp.Sbp.broadcast;
import static dev.tessera.sbp.Sbp.partialSum;
import static dev.tessera.sbp.Sbp.split;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.graph.DType;
import dev.tessera.graph.TensorType;
import dev.tessera.ops.Dropout;
import dev.tessera.ops.MatMul;
import java.util.List;
import org.junit.jupiter.api.Test;

class SignatureLiftingTest {
    private static final List<TensorType> MATMUL_INPUTS = List.of(TensorType.of(DType.F32, 8, 16), TensorType.of(DType.F32, 16, 12));

    @Test
    void shouldFormEveryPairOfOneAxisSignaturesOnATwoAxisHierarchy() {
        List<NdSbpSignature> lifted = SignatureLifting.lift(new MatMul(false, false), MATMUL_INPUTS, Placement.onNode(0, 2, 2));
        int oneAxis = new MatMul(false, false).sbpSignatures(MATMUL_INPUTS).size();
        assertEquals(oneAxis * oneAxis, lifted.size());
        NdSbpSignature dataThenTensorParallel = new NdSbpSignature(
                List.of(NdSbp.of(split(0), broadcast()), NdSbp.of(broadcast(), split(1))),
                List.of(NdSbp.of(split(0), split(1))));
        assertTrue(lifted.contains(dataThenTensorParallel));
        assertEquals(new SbpSignature(List.of(broadcast(), split(1)), List.of(split(1))), dataThenTensorParallel.onAxis(1));
    }

    @Test
    void shouldOnlyBroadcastOverAnAxisOfOneDevice() {
        List<NdSbpSignature> lifted = SignatureLifting.lift(new MatMul(false, false), MATMUL_INPUTS, Placement.onNode(0, 1, 4));
        assertEquals(new MatMul(false, false).sbpSignatures(MATMUL_INPUTS).size(), lifted.size());
        assertTrue(lifted.stream().allMatch(s -> s.inputs().get(0).get(0).equals(broadcast())));
    }

    @Test
    void shouldDropCombinationsThatLeaveADeviceWithAnEmptyPart() {
        List<TensorType> thin = List.of(TensorType.of(DType.F32, 3, 16), TensorType.of(DType.F32, 16, 12));
        List<NdSbpSignature> lifted = SignatureLifting.lift(new MatMul(false, false), thin, Placement.onNode(0, 2, 2));
        NdSbpSignature rowsOverFour = new NdSbpSignature(
                List.of(NdSbp.of(split(0), split(0)), NdSbp.of(broadcast(), broadcast())),
                List.of(NdSbp.of(split(0), split(0))));
        assertFalse(lifted.contains(rowsOverFour), "3 rows cannot feed 4 devices");
        NdSbpSignature rowsThenInner = new NdSbpSignature(
                List.of(NdSbp.of(split(0), split(1)), NdSbp.of(broadcast(), split(0))),
                List.of(NdSbp.of(split(0), partialSum())));
        assertTrue(lifted.contains(rowsThenInner), "uneven splits are kept");
    }

    @Test
    void shouldRunOpsWithOnlyTheBroadcastSignatureWholeOnEveryDevice() {
        List<NdSbpSignature> lifted = SignatureLifting.lift(new Dropout(0.1, 1), List.of(TensorType.of(DType.F32, 4, 4)),
                Placement.onNode(0, 2, 2));
        assertEquals(List.of(new NdSbpSignature(List.of(NdSbp.uniform(2, broadcast())), List.of(NdSbp.uniform(2, broadcast())))),
                lifted);
    }
}
