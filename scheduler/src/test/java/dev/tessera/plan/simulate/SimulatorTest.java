package dev.tessera.plan.simulate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.plan.schedule.Action;
import dev.tessera.plan.schedule.InvalidScheduleException;
import dev.tessera.plan.schedule.PipelineSchedule;
import dev.tessera.plan.schedule.ScheduleExecution.TimedAction;
import dev.tessera.plan.schedule.Schedules;
import java.util.List;
import org.junit.jupiter.api.Test;

class SimulatorTest {
    private static final List<PipelineSchedule> FAMILIES = List.of(Schedules.gpipe(4, 8), Schedules.oneFOneB(4, 8),
            Schedules.interleavedOneFOneB(4, 8, 2), Schedules.oneFOneBTwoBp(4, 8),
            Schedules.oneFOneBTwoBpWeightsAtEnd(4, 8), Schedules.zbH1(4, 8), Schedules.zbH2(4, 8), Schedules.zbV(4, 8));

    @Test
    void shouldChargeOneTransferPerStageBoundaryBetweenDevices() {
        SimulationReport report = Simulator.simulate(Schedules.oneFOneB(2, 1), CostModel.uniform(2, 1, 1, 1, 0.25));
        assertEquals(1 + 0.25 + 1 + 2 + 0.25 + 2, report.stepTime());
        assertEquals(new TimedAction(0, 1, Action.fullBackward(0, 0), 4.5, 6.5), report.timeline().get(3));
    }

    @Test
    void shouldHoldOutputGradientsFromBToWOnlyWithASplitBackward() {
        CostModel costs = CostModel.uniform(1, 1, 1, 1, 0).withMemory(List.of(1.0), List.of(1.0))
                .withGradientMemory(List.of(3.0));
        // F holds 1 + 1; B frees 1 and holds 3 gradients: 4; a fused BW never holds them
        assertEquals(4, Simulator.simulate(Schedules.oneFOneBTwoBp(1, 1), costs).device(0).peakMemory());
        assertEquals(2, Simulator.simulate(Schedules.oneFOneB(1, 1), costs).device(0).peakMemory());
    }

    @Test
    void shouldChargeNothingBetweenStagesOfOneDevice() {
        SimulationReport report = Simulator.simulate(Schedules.zbV(1, 1), CostModel.uniform(2, 1, 1, 1, 5));
        assertEquals(6, report.stepTime());
        assertEquals(0, report.device(0).idle());
    }

    @Test
    void shouldTimeExplicitSendsAndReceivesAsTheImplicitEdges() {
        CostModel costs = CostModel.uniform(4, 1, 1, 0.5, 0.125);
        for (PipelineSchedule schedule : FAMILIES) {
            CostModel model = schedule.stages() == 4 ? costs : CostModel.uniform(8, 0.5, 0.5, 0.25, 0.125);
            SimulationReport implicit = Simulator.simulate(schedule, model);
            SimulationReport explicit = Simulator.simulate(schedule.withCommunication().withOptimizerSteps(), model);
            assertEquals(implicit.stepTime(), explicit.stepTime(), schedule.toText());
            assertEquals(implicit.bubbleRate(), explicit.bubbleRate(), 1e-12);
        }
    }

    @Test
    void shouldChargeLatencyPlusBytesOverBandwidth() {
        CostModel costs = CostModel.uniform(2, 1, 1, 1, 0).withLinks(0.5, 1000, List.of(250.0));
        assertEquals(0.75, costs.transfer(0));
        assertEquals(2 + 4 + 2 * 0.75, Simulator.simulate(Schedules.gpipe(2, 1), costs).stepTime());
    }

    @Test
    void shouldTrackTheMemoryThatTwoBpKeepsUntilW() {
        CostModel costs = CostModel.uniform(4, 1, 1, 1, 0).withMemory(List.of(1.0, 1.0, 1.0, 1.0),
                List.of(3.0, 3.0, 3.0, 3.0));
        assertEquals(16, Simulator.simulate(Schedules.oneFOneB(4, 8), costs).device(0).peakMemory());
        // eight forwards hold 4 each; the four B before the last forward free 1 each
        assertEquals(8 * 4 - 4 * 1, Simulator.simulate(Schedules.oneFOneBTwoBpWeightsAtEnd(4, 8), costs)
                .device(0).peakMemory());
        assertEquals(8, Simulator.simulate(Schedules.oneFOneBTwoBpWeightsAtEnd(4, 8), costs).device(0).peakActivations());
    }

    @Test
    void shouldReportBusyIdleAndSpanPerDevice() {
        SimulationReport report = Simulator.simulate(Schedules.oneFOneB(4, 8), CostModel.uniform(4, 1, 1, 1, 0));
        SimulationReport.DeviceReport last = report.device(3);
        assertEquals(24, last.busy());
        assertEquals(9, last.idle());
        assertEquals(3, last.firstStart());
        assertEquals(27, last.lastEnd());
        assertEquals(0, last.spanIdle());
        assertEquals(64, report.timeline().size());
        assertTrue(report.toTable().contains("step time 33.0000, bubble rate 0.2727"), report.toTable());
    }

    @Test
    void shouldWriteTheTimelineAsChromeTrace() {
        SimulationReport report = Simulator.simulate(Schedules.zbH1(2, 2), CostModel.uniform(2, 1, 1, 0.5, 0));
        String json = report.toChromeTrace();
        assertTrue(json.startsWith("{\"displayTimeUnit\":\"ms\",\"traceEvents\":[{\"name\":\"thread_name\""), json);
        assertTrue(json.contains("{\"name\":\"1W0\",\"cat\":\"W\",\"ph\":\"X\",\"pid\":0,\"tid\":1,\"ts\":"), json);
        assertTrue(json.contains("{\"name\":\"0F0\",\"cat\":\"F\",\"ph\":\"X\",\"pid\":0,\"tid\":0,\"ts\":0.000,"
                + "\"dur\":1000000.000,\"args\":{\"stage\":0,\"microBatch\":0}}"), json);
        assertEquals(report.timeline().size(), json.split("\"ph\":\"X\"", -1).length - 1);
        assertEquals(json.chars().filter(c -> c == '{').count(), json.chars().filter(c -> c == '}').count());
        assertTrue(json.endsWith("]}"));
    }

    @Test
    void shouldRefuseACostModelForAnotherNumberOfStages() {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                () -> Simulator.simulate(Schedules.zbV(2, 4), CostModel.uniform(2, 1, 1, 1, 0)));
        assertTrue(error.getMessage().startsWith("the schedule has 4 stages but the cost model 2"), error.getMessage());
    }

    @Test
    void shouldRefuseAScheduleThatDoesNotProgress() {
        PipelineSchedule deadlock = PipelineSchedule.parse("0F0 0BW0 0F1 0BW1\n1F1 1BW1 1F0 1BW0");
        InvalidScheduleException error = assertThrows(InvalidScheduleException.class,
                () -> Simulator.simulate(deadlock, CostModel.uniform(2, 1, 1, 1, 0)));
        assertTrue(error.getMessage().contains("not progressing:"), error.getMessage());
    }
}
