package dev.tessera.plan.schedule.auto;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.plan.schedule.ActivationProfile;
import dev.tessera.plan.schedule.PipelineSchedule;
import dev.tessera.plan.schedule.ScheduleValidator;
import dev.tessera.plan.schedule.Schedules;
import dev.tessera.plan.simulate.CostModel;
import dev.tessera.plan.simulate.Simulator;
import java.util.List;
import java.util.OptionalInt;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

class AutoSchedulerTest {
    private static final CostModel UNEVEN = CostModel.perStage(List.of(1.0, 2.0, 1.0, 1.5),
            List.of(1.0, 2.5, 1.25, 1.5), List.of(0.5, 1.0, 0.75, 1.0), 0.125);

    static Stream<Arguments> cases() {
        return Stream.of(Arguments.of(UNEVEN, 8, 4), Arguments.of(UNEVEN, 8, 7), Arguments.of(UNEVEN, 12, 2),
                Arguments.of(UNEVEN, 3, 4), Arguments.of(CostModel.uniform(4, 1, 1, 1, 0), 8, 4),
                Arguments.of(CostModel.perStage(List.of(2.0, 1.0, 1.0), List.of(2.0, 1.0, 1.0),
                        List.of(1.0, 0.5, 0.5), 0.25), 6, 3));
    }

    @ParameterizedTest
    @MethodSource("cases")
    void shouldNeverBeSlowerThanTheBestFixedFamilyThatFits(CostModel costs, int microBatches, int limit) {
        AutoScheduler.Choice choice = AutoScheduler.schedule(microBatches, costs, limit);
        int devices = costs.stages();
        assertEquals(List.of(), ScheduleValidator.problems(choice.schedule(), OptionalInt.of(limit)));
        for (PipelineSchedule fixed : List.of(Schedules.gpipe(devices, microBatches),
                Schedules.oneFOneB(devices, microBatches), Schedules.oneFOneBTwoBp(devices, microBatches),
                Schedules.oneFOneBTwoBpWeightsAtEnd(devices, microBatches), Schedules.zbH1(devices, microBatches),
                Schedules.zbH2(devices, microBatches))) {
            boolean fits = ScheduleValidator.problems(fixed, OptionalInt.of(limit)).isEmpty();
            if (fits) {
                assertTrue(choice.report().stepTime() <= Simulator.simulate(fixed, costs).stepTime(),
                        choice.origin() + " " + choice.candidates());
            }
        }
        assertEquals(choice.report().stepTime(), Simulator.simulate(choice.schedule(), costs).stepTime());
    }

    @Test
    void shouldBeatZbH1OnUnevenStagesWithItsMemory() {
        AutoScheduler.Choice choice = AutoScheduler.schedule(8, UNEVEN, 4);
        double zbH1 = Simulator.simulate(Schedules.zbH1(4, 8), UNEVEN).stepTime();
        assertTrue(choice.report().stepTime() < zbH1, choice.origin() + " " + choice.candidates());
        assertTrue(ActivationProfile.peak(choice.schedule(), 0).inFlight() <= 4);
    }

    @Test
    void shouldRejectALimitBelowOne() {
        assertThrows(IllegalArgumentException.class, () -> AutoScheduler.schedule(8, UNEVEN, 0));
    }
}
