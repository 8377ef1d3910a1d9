package dev.tessera.plan.simulate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.plan.simulate.AnalyticTransformer.AnalyticOp;
import dev.tessera.plan.simulate.AnalyticTransformer.Phase;
import dev.tessera.plan.schedule.Schedules;
import java.util.List;
import org.junit.jupiter.api.Test;

class AnalyticTransformerTest {
    private static final AnalyticTransformer LLAMA = AnalyticTransformer.llama7b(4096, 1);

    @Test
    void shouldHaveSevenBillionParameters() {
        assertEquals(6.74e9, LLAMA.parameters(), 0.01e9);
    }

    @Test
    void shouldCountTheLayersMatmulsInClosedForm() {
        double t = 4096;
        double d = 4096;
        double f = 11008;
        double s = 4096;
        List<AnalyticOp> layer = LLAMA.layerOps();
        double weighted = 8 * t * d * d + 6 * t * d * f;
        double attention = 4 * s * s * d;
        assertEquals(weighted + attention, AnalyticTransformer.flops(layer, Phase.FORWARD, true), 1);
        // B = F for the weighted matmuls plus twice F for attention's, W = F for the weighted ones
        assertEquals(weighted + 2 * attention, AnalyticTransformer.flops(layer, Phase.INPUT_GRADIENT, true), 1);
        assertEquals(weighted, AnalyticTransformer.flops(layer, Phase.WEIGHT_GRADIENT, true), 1);
        double backward = AnalyticTransformer.flops(layer, Phase.INPUT_GRADIENT, true)
                + AnalyticTransformer.flops(layer, Phase.WEIGHT_GRADIENT, true);
        assertEquals(2 * AnalyticTransformer.flops(layer, Phase.FORWARD, true), backward, 1);
        assertTrue(layer.stream().filter(op -> op.phase() == Phase.WEIGHT_GRADIENT && op.matmul())
                .allMatch(AnalyticOp::weighted), "attention has no weights, so no W");
        assertEquals(t * d * 2, LLAMA.boundaryBytes());
    }

    @Test
    void shouldPutEightLayersOnEachOfFourStagesWithTheEmbeddingFirstAndTheHeadLast() {
        assertEquals(List.of(8, 8, 8, 8), LLAMA.layersPerStage(4));
        assertEquals(List.of(3, 3, 2), new AnalyticTransformer("t", 8, 64, 128, 4, 100, 16, 1, 4).layersPerStage(3));
        List<List<AnalyticOp>> stages = LLAMA.stageOps(4);
        assertEquals("embedding", stages.get(0).get(0).name());
        assertEquals("lm_head_grad_weight", stages.get(3).get(stages.get(3).size() - 1).name());
    }

    @Test
    void shouldPredictThat2BpIsFasterThan1F1BOnTheA100() {
        CostModel costs = LLAMA.costModel(DeviceProfile.a100(), 4);
        for (int m : new int[] {4, 8}) {
            double oneFOneB = Simulator.simulate(Schedules.oneFOneB(4, m), costs).stepTime();
            double twoBp = Simulator.simulate(Schedules.oneFOneBTwoBp(4, m), costs).stepTime();
            double atEnd = Simulator.simulate(Schedules.oneFOneBTwoBpWeightsAtEnd(4, m), costs).stepTime();
            assertTrue(oneFOneB / twoBp > 1, "m = " + m + ": " + oneFOneB + " vs " + twoBp);
            assertTrue(oneFOneB / atEnd > 1, "m = " + m + ": " + oneFOneB + " vs " + atEnd);
        }
        // F of a layer is bound by its matmuls: FLOPs over the profile's rate, within the elementwise share
        double matmulSeconds = AnalyticTransformer.flops(LLAMA.layerOps(), Phase.FORWARD, true)
                / DeviceProfile.a100().matmulFlopsPerSecond();
        double forward = AnalyticTransformer.seconds(LLAMA.layerOps(), Phase.FORWARD, DeviceProfile.a100());
        assertTrue(forward > matmulSeconds && forward < 1.2 * matmulSeconds, forward + " vs " + matmulSeconds);
    }
}
