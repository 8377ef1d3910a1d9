package dev.tessera.sbp.infer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.autodiff.MiniatureModels;
import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.graph.Op;
import dev.tessera.graph.Phase;
import dev.tessera.optim.Optimizer;
import dev.tessera.sbp.DeviceId;
import dev.tessera.sbp.Placement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The cost model's stage cut: no contiguous cut of the forward ops has a faster slowest stage
 * (checked against every cut), backward ops stay with their forward op, and on the GPT stack two
 * stages meet between the two blocks, where only the residual stream crosses.
 */
class StageBalancerTest {
    private static final CostModel MODEL = CostModel.standard();
    private final TrainingGraph gpt = MiniatureModels.gpt(4, 1, new Optimizer.AdamW(0.9, 0.999, 1e-8, 0.01), 1.0);

    @Test
    void shouldFindNoSlowerSlowestStageThanAnyOtherCutIntoTwoOrThreeStages() {
        for (int k = 2; k <= 3; k++) {
            List<Placement> stages = stages(k);
            StageBalancer.Balanced balanced = StageBalancer.balance(gpt, stages, MODEL);
            double found = slowest(balanced.costs());
            double bestOther = bestByBruteForce(stages);
            assertEquals(bestOther, found, 1e-12 * bestOther, k + " stages: the balancer's cut against every cut");
        }
    }

    @Test
    void shouldKeepEveryBackwardOpWithItsForwardOpAndEveryStageBusy() {
        List<Placement> stages = stages(3);
        StageBalancer.Balanced balanced = StageBalancer.balance(gpt, stages, MODEL);
        for (Op op : gpt.ops()) {
            op.forwardOp().ifPresent(forward -> assertEquals(balanced.placements().getOrDefault(forward, stages.get(0)),
                    balanced.placements().getOrDefault(op, stages.get(0)), op.name() + " follows " + forward.name()));
        }
        for (StageBalancer.StageCost cost : balanced.costs()) {
            assertTrue(cost.forwardOps() > 0, cost.toString());
        }
        double total = 0;
        for (Op op : gpt.ops()) {
            if (op.phase() != Phase.UPDATE) {
                total += MODEL.seconds(op.def().cost(op.inputTypes(), op.outputTypes()).flops(), 0);
            }
        }
        double summed = balanced.costs().stream().mapToDouble(c -> c.forwardSeconds() + c.inputGradientSeconds()
                + c.weightGradientSeconds()).sum();
        assertEquals(total, summed, 1e-12 * total, "every F, B and W op is on some stage");
    }

    @Test
    void shouldCutWhereFewerBytesCrossWhenTheLinkIsSlow() {
        List<Placement> two = stages(2);
        CostModel fastLink = new CostModel(MODEL.flopsPerSecond(), 1e18);
        CostModel slowLink = new CostModel(MODEL.flopsPerSecond(), 1e3);
        StageBalancer.Balanced fast = StageBalancer.balance(gpt, two, fastLink);
        StageBalancer.Balanced slow = StageBalancer.balance(gpt, two, slowLink);
        double fastSends = StageBalancer.costs(gpt, two, fast.placements(), slowLink).get(0).sendSeconds();
        double slowSends = slow.costs().get(0).sendSeconds();
        assertTrue(slowSends <= fastSends, "a slow link moves the cut to fewer bytes: " + slowSends + " > " + fastSends);
        double fastCompute = fast.costs().stream().mapToDouble(c -> c.forwardSeconds() + c.inputGradientSeconds()
                + c.weightGradientSeconds()).max().orElseThrow();
        double total = fast.costs().stream().mapToDouble(c -> c.forwardSeconds() + c.inputGradientSeconds()
                + c.weightGradientSeconds()).sum();
        assertTrue(fastCompute < 0.75 * total, "with a free link the two stages share the compute: " + fast.costs());
    }

    @Test
    void shouldRefuseMoreStagesThanForwardOps() {
        TrainingGraph mlp = MiniatureModels.mlp(2, 1, new Optimizer.Sgd(0.0, 0.0), 0.0);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> StageBalancer.balance(mlp, stages(mlp.forwardOps().size() + 1), MODEL));
        assertTrue(e.getMessage().contains("lower parallel.pipeline"), e.getMessage());
    }

    /** The slowest stage of the best contiguous cut of the forward ops, trying every one. */
    private double bestByBruteForce(List<Placement> stages) {
        List<Op> forward = gpt.forwardOps();
        int n = forward.size();
        double best = Double.POSITIVE_INFINITY;
        List<int[]> cuts = new ArrayList<>();
        if (stages.size() == 2) {
            for (int a = 1; a < n; a++) {
                cuts.add(new int[] {a});
            }
        } else {
            for (int a = 1; a < n; a++) {
                for (int b = a + 1; b < n; b++) {
                    cuts.add(new int[] {a, b});
                }
            }
        }
        for (int[] cut : cuts) {
            Map<Op, Placement> fixed = new HashMap<>();
            for (int i = 0; i < n; i++) {
                int stage = 0;
                while (stage < cut.length && i >= cut[stage]) {
                    stage++;
                }
                fixed.put(forward.get(i), stages.get(stage));
            }
            Map<Op, Placement> placed = new StageRules(Map.of()).resolve(gpt.ops(), stages.get(0), fixed);
            best = Math.min(best, slowest(StageBalancer.costs(gpt, stages, placed, MODEL)));
        }
        return best;
    }

    private static double slowest(List<StageBalancer.StageCost> costs) {
        return costs.stream().mapToDouble(StageBalancer.StageCost::seconds).max().orElseThrow();
    }

    private static List<Placement> stages(int k) {
        List<Placement> stages = new ArrayList<>();
        for (int s = 0; s < k; s++) {
            stages.add(Placement.of(List.of(new DeviceId(0, s)), 1, 1));
        }
        return stages;
    }
}
