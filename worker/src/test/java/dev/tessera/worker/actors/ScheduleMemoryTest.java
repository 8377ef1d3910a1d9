package dev.tessera.worker.actors;

import static dev.tessera.worker.actors.TrainingModels.batches;
import static dev.tessera.worker.actors.TrainingModels.learningRates;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.lowering.DistributedTraining;
import dev.tessera.plan.compile.PlanMemory;
import dev.tessera.plan.schedule.PipelineSchedule;
import dev.tessera.plan.schedule.Schedules;
import dev.tessera.tensor.HostTensor;
import dev.tessera.worker.exec.RegisterUse;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What a schedule costs in memory, measured: the runtime's peak of register bytes in use on each
 * device never exceeds the register buffers the device holds, which compute actors share by
 * liveness and so stay below what the plan would allocate without reuse (quotas times payloads);
 * and deferring W (2BP)
 * keeps activations and output gradients alive longer, so 1F1B-2BP with every W at the end holds
 * more at its peak than 1F1B on every stage, and its plan allocates more for it.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ScheduleMemoryTest {
    private static final int MICRO_BATCHES = 8;

    @Test
    void shouldMeasureTheExtraMemoryOfDeferredWeightGradientsWithinWhatThePlanAllocates() {
        DistributedTraining split = PipelineScheduleTrainingTest.Layout.GPT_TWO_STAGES.split(MICRO_BATCHES);
        List<List<Map<String, HostTensor>>> data = batches(true, 2, MICRO_BATCHES, 42);
        double[] rates = learningRates(2);
        Map<String, PipelineSchedule> schedules = new LinkedHashMap<>();
        schedules.put("1f1b", Schedules.oneFOneB(2, MICRO_BATCHES));
        schedules.put("zb-h1", Schedules.zbH1(2, MICRO_BATCHES));
        schedules.put("1f1b-2bp-weights-at-end", Schedules.oneFOneBTwoBpWeightsAtEnd(2, MICRO_BATCHES));
        Map<String, RegisterUse> use = new LinkedHashMap<>();
        for (Map.Entry<String, PipelineSchedule> entry : schedules.entrySet()) {
            try (ParallelExecutor executor = new ParallelExecutor(split, 7,
                    ActorExecutorOptions.defaults().withSchedule(entry.getValue()))) {
                executor.run(data, rates);
                RegisterUse measured = executor.registerUse().orElseThrow();
                assertEquals(List.of(Arrays.stream(PlanMemory.allocatedRegisterBytes(executor.compiledPlan()))
                        .boxed().toList()), List.of(Arrays.stream(measured.allocated()).boxed().toList()));
                for (int device = 0; device < 2; device++) {
                    long peak = measured.peakInUse()[device];
                    long held = measured.held()[device];
                    assertTrue(peak > 0 && peak <= held && held < measured.allocated()[device], entry.getKey()
                            + ", device " + device + ": in use at most " + peak + ", held " + held + " of "
                            + measured.allocated()[device] + " without reuse");
                }
                use.put(entry.getKey(), measured);
            }
        }
        for (int device = 0; device < 2; device++) {
            long oneFOneB = use.get("1f1b").peakInUse()[device];
            long atEnd = use.get("1f1b-2bp-weights-at-end").peakInUse()[device];
            assertTrue(atEnd > oneFOneB, "device " + device + ": every W at the end keeps more alive (" + atEnd
                    + " bytes) than 1F1B (" + oneFOneB + ")");
            assertTrue(use.get("1f1b-2bp-weights-at-end").allocated()[device] > use.get("1f1b").allocated()[device],
                    "device " + device + ": and its plan allocates more");
        }
    }
}
