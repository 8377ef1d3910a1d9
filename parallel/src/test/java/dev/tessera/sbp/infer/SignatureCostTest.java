package dev.tessera.sbp.infer;

import static dev.tessera.sbp.Sbp.broadcast;
import static dev.tessera.sbp.Sbp.partialSum;
import static dev.tessera.sbp.Sbp.split;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tessera.graph.DType;
import dev.tessera.graph.TensorType;
import dev.tessera.ops.MatMul;
import dev.tessera.sbp.NdSbp;
import dev.tessera.sbp.NdSbpSignature;
import dev.tessera.sbp.Placement;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class SignatureCostTest {
    private static final MatMul MATMUL = new MatMul(false, false);
    private static final List<TensorType> IN = List.of(TensorType.of(DType.F32, 8, 16), TensorType.of(DType.F32, 16, 12));
    private static final List<TensorType> OUT = List.of(TensorType.of(DType.F32, 8, 12));
    private static final Placement FOUR = Placement.onNode(0, 4);
    private static final double FULL_FLOPS = 2.0 * 8 * 12 * 16;

    private static SignatureCost cost(NdSbpSignature sig, NdSbp... arriving) {
        return SignatureCost.of(MATMUL, List.of("a", "b"), IN, OUT, sig, Arrays.asList(arriving), FOUR,
                CostModel.standard());
    }

    private static NdSbpSignature sig(NdSbp a, NdSbp b, NdSbp out) {
        return new NdSbpSignature(List.of(a, b), List.of(out));
    }

    @Test
    void shouldDivideComputeByDevicesThatSplitTheWork() {
        SignatureCost rows = cost(sig(NdSbp.of(split(0)), NdSbp.of(broadcast()), NdSbp.of(split(0))), null, null);
        assertEquals(FULL_FLOPS / 4, rows.flopsPerDevice(), 1e-9);
        assertEquals(0, rows.boxingBytesTotal());
    }

    @Test
    void shouldNotDivideComputeOfAFullSizedPartialSumInput() {
        SignatureCost partial = cost(sig(NdSbp.of(partialSum()), NdSbp.of(broadcast()), NdSbp.of(partialSum())), null, null);
        assertEquals(FULL_FLOPS, partial.flopsPerDevice(), 1e-9);
    }

    @Test
    void shouldChargeTheBoxingFromTheArrivingLayout() {
        SignatureCost gathered = cost(sig(NdSbp.of(broadcast()), NdSbp.of(split(1)), NdSbp.of(split(1))),
                NdSbp.of(split(0)), null);
        double aBytes = 8 * 16 * 4;
        assertEquals(0.75 * aBytes, gathered.boxingBytesPerDevice(), 1e-9);
        assertEquals(4 * 0.75 * aBytes, gathered.boxingBytesTotal(), 1e-9);
        assertEquals(FULL_FLOPS / 4, gathered.flopsPerDevice(), 1e-9);
    }
}
