package dev.tessera.plan.schedule;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.OptionalInt;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class ScheduleFamiliesTest {
    static Stream<ScheduleFamilies.Case> grid() {
        return ScheduleFamilies.grid().stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("grid")
    void shouldBuildAValidScheduleForEveryFamilyOnTheGrid(ScheduleFamilies.Case family) {
        PipelineSchedule schedule = family.build().get();
        assertEquals(family.devices(), schedule.devices());
        assertEquals(family.microBatches(), schedule.microBatches());
        assertEquals(family.devices() * family.chunks(), schedule.stages());
        assertEquals(List.of(), ScheduleValidator.problems(schedule));
        assertEquals(List.of(), ScheduleValidator.problems(schedule.withCommunication().withOptimizerSteps()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("grid")
    void shouldPrintAndParseBackEveryFamily(ScheduleFamilies.Case family) {
        PipelineSchedule schedule = family.build().get().withCommunication().withOptimizerSteps();
        assertEquals(schedule, PipelineSchedule.parse(schedule.toText()));
        assertEquals(schedule.toText(), PipelineSchedule.parse(schedule.toText()).toText());
    }

    @Test
    void shouldPlaceInterleavedStagesRoundRobinAndVStagesThereAndBack() {
        assertEquals(List.of(0, 1, 2, 0, 1, 2), Schedules.interleavedOneFOneB(3, 6, 2).deviceOfStage());
        PipelineSchedule v = Schedules.zbV(3, 6);
        assertEquals(List.of(0, 1, 2, 2, 1, 0), v.deviceOfStage());
        assertEquals(List.of(0, 5), v.stagesOf(0));
        assertEquals(1, v.chunkOf(5));
    }

    @Test
    void shouldKeepTheActivationBoundsOfTheFamilies() {
        for (int p = 1; p <= 6; p++) {
            int devices = p;
            for (int m = 2 * p - 1; m <= 12; m++) {
                assertEquals(p, ActivationProfile.peak(Schedules.oneFOneB(p, m), 0).inFlight(), "1F1B p=" + p);
                assertEquals(p, ActivationProfile.peak(Schedules.zbH1(p, m), 0).inFlight(), "ZB-H1 p=" + p);
                assertEquals(2 * p - 1, ActivationProfile.peak(Schedules.zbH2(p, m), 0).inFlight(), "ZB-H2 p=" + p);
                assertEquals(Math.min(p + 1, m), ActivationProfile.peak(Schedules.oneFOneBTwoBp(p, m), 0).inFlight(),
                        "2BP p=" + p);
                assertEquals(m, ActivationProfile.peak(Schedules.gpipe(p, m), 0).inFlight(), "GPipe p=" + p);
                assertEquals(List.of(), ScheduleValidator.problems(Schedules.zbH1(p, m), OptionalInt.of(devices)));
            }
        }
    }

    @Test
    void shouldRejectInterleavedMicroBatchesThatDoNotFillEqualRounds() {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                () -> Schedules.interleavedOneFOneB(4, 9, 2));
        assertTrue(error.getMessage().contains("9 micro-batches cannot fill; use 8 or 10 micro-batches"),
                error.getMessage());
    }

    @Test
    void shouldRejectParametersOutOfRangeNamingTheValue() {
        assertMessage("ZB-H1 needs at least 1 device, not 0", () -> Schedules.zbH1(0, 4));
        assertMessage("GPipe needs at least 1 micro-batch, not -2", () -> Schedules.gpipe(4, -2));
        assertMessage("interleaved 1F1B needs at least 1 chunk per device, not 0",
                () -> Schedules.interleavedOneFOneB(4, 8, 0));
        assertMessage("ZB-V needs at least 1 device, not -1", () -> Schedules.zbV(-1, 8));
    }

    private static void assertMessage(String expected, org.junit.jupiter.api.function.Executable build) {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class, build);
        assertEquals(expected, error.getMessage());
    }
}
