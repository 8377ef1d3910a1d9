package dev.tessera.plan.simulate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.plan.schedule.PipelineSchedule;
import dev.tessera.plan.schedule.Schedules;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * With equal stages and no communication cost the simulator reproduces the closed forms of the
 * papers exactly (times are sums of small binary fractions, so equal as doubles).
 */
class SimulatorClosedFormTest {
    /** (T_F, T_B, T_W) with T_W <= T_F and T_W <= T_B, as the zero-bubble formulas assume. */
    private static final List<double[]> COSTS = List.of(new double[] {1, 1, 1}, new double[] {2, 2, 1},
            new double[] {1.5, 2, 1}, new double[] {1, 1.5, 0.5});

    static Stream<Arguments> pipelines() {
        List<Arguments> cases = new ArrayList<>();
        for (int p = 1; p <= 6; p++) {
            for (int m = 1; m <= 12; m++) {
                for (double[] costs : COSTS) {
                    cases.add(Arguments.of(p, m, costs[0], costs[1], costs[2]));
                }
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "p={0} m={1} F={2} B={3} W={4}")
    @MethodSource("pipelines")
    void shouldGiveGpipeAndOneFOneBTheBubbleOfPMinusOneOverMPlusPMinusOne(int p, int m, double f, double b, double w) {
        for (PipelineSchedule schedule : List.of(Schedules.gpipe(p, m), Schedules.oneFOneB(p, m))) {
            SimulationReport report = Simulator.simulate(schedule, CostModel.uniform(p, f, b, w, 0));
            assertEquals((m + p - 1) * (f + b + w), report.stepTime());
            assertEquals((double) (p - 1) / (m + p - 1), report.bubbleRate(), 1e-12);
            for (SimulationReport.DeviceReport device : report.devices()) {
                assertEquals((p - 1) * (f + b + w), device.idle());
            }
        }
    }

    @ParameterizedTest(name = "p={0} m={1} F={2} B={3} W={4}")
    @MethodSource("pipelines")
    void shouldIdleEachDeviceOfZbH1ForPMinusOneTimesTfPlusTbMinusTw(int p, int m, double f, double b, double w) {
        if (m < p) {
            return;
        }
        SimulationReport report = Simulator.simulate(Schedules.zbH1(p, m), CostModel.uniform(p, f, b, w, 0));
        for (SimulationReport.DeviceReport device : report.devices()) {
            assertEquals((p - 1) * (f + b - w), device.idle(), "device " + device.device());
        }
        assertEquals(p, report.device(0).peakActivations());
    }

    @ParameterizedTest(name = "p={0} m={1} F={2} B={3} W={4}")
    @MethodSource("pipelines")
    void shouldIdleEachDeviceOfZbH2ForPMinusOneTimesTfPlusTbMinusTwoTw(int p, int m, double f, double b, double w) {
        if (m < 2 * p - 1 || f + b < 2 * w) {
            return;
        }
        SimulationReport report = Simulator.simulate(Schedules.zbH2(p, m), CostModel.uniform(p, f, b, w, 0));
        double bubble = (p - 1) * (f + b - 2 * w);
        assertEquals(bubble, report.device(0).spanIdle());
        for (SimulationReport.DeviceReport device : report.devices()) {
            assertTrue(device.spanIdle() <= bubble, "device " + device.device() + " idles " + device.spanIdle());
        }
        assertEquals(2 * p - 1, report.device(0).peakActivations());
    }

    @ParameterizedTest(name = "p={0} m={1} F={2} B={3} W={4}")
    @MethodSource("pipelines")
    void shouldShrinkTheInterleavedBubbleToOneOverVOfOneFOneBs(int p, int m, double f, double b, double w) {
        if (m < p || m % (m / p) != 0) {
            return;
        }
        for (int v = 1; v <= 3; v++) {
            SimulationReport report = Simulator.simulate(Schedules.interleavedOneFOneB(p, m, v),
                    CostModel.uniform(p * v, f / v, b / v, w / v, 0));
            double ideal = m * (f + b + w);
            double bubble = report.stepTime() - ideal;
            assertEquals((p - 1) * (f + b + w) / v, bubble, 1e-9, "v=" + v);
            assertEquals((1.0 / v) * (p - 1) / m, bubble / ideal, 1e-12, "v=" + v);
        }
    }

    @ParameterizedTest(name = "p={0} m={1} F={2} B={3} W={4}")
    @MethodSource("pipelines")
    void shouldHoldPActivationsOnTheFirstStageOfOneFOneB(int p, int m, double f, double b, double w) {
        SimulationReport report = Simulator.simulate(Schedules.oneFOneB(p, m), CostModel.uniform(p, f, b, w, 0));
        assertEquals(Math.min(p, m), report.device(0).peakActivations());
    }
}
