package dev.tessera.plan.schedule;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/** Every fixed family, by name, over the test grid: p in 1..6, m in 1..12, chunks 1..3 for interleaved 1F1B. */
public final class ScheduleFamilies {
    /** One schedule of the grid, with a readable name for parameterized test output. */
    public record Case(String family, int devices, int microBatches, int chunks, Supplier<PipelineSchedule> build) {
        @Override
        public String toString() {
            return family + " p=" + devices + " m=" + microBatches + (chunks > 1 ? " v=" + chunks : "");
        }
    }

    private ScheduleFamilies() {
    }

    public static List<Case> grid() {
        List<Case> cases = new ArrayList<>();
        for (int p = 1; p <= 6; p++) {
            for (int m = 1; m <= 12; m++) {
                int devices = p;
                int microBatches = m;
                cases.add(new Case("gpipe", p, m, 1, () -> Schedules.gpipe(devices, microBatches)));
                cases.add(new Case("1f1b", p, m, 1, () -> Schedules.oneFOneB(devices, microBatches)));
                cases.add(new Case("1f1b-2bp", p, m, 1, () -> Schedules.oneFOneBTwoBp(devices, microBatches)));
                cases.add(new Case("1f1b-2bp-w-at-end", p, m, 1,
                        () -> Schedules.oneFOneBTwoBpWeightsAtEnd(devices, microBatches)));
                cases.add(new Case("zb-h1", p, m, 1, () -> Schedules.zbH1(devices, microBatches)));
                cases.add(new Case("zb-h2", p, m, 1, () -> Schedules.zbH2(devices, microBatches)));
                cases.add(new Case("zb-v", p, m, 2, () -> Schedules.zbV(devices, microBatches)));
                for (int v = 1; v <= 3; v++) {
                    int chunks = v;
                    if (m % Math.max(1, m / p) == 0) {
                        cases.add(new Case("interleaved-1f1b", p, m, v,
                                () -> Schedules.interleavedOneFOneB(devices, microBatches, chunks)));
                    }
                }
            }
        }
        return cases;
    }
}
