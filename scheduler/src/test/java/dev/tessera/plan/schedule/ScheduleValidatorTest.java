package dev.tessera.plan.schedule;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/** One deliberately broken schedule per rule; each message names the device, the action and what is missing. */
class ScheduleValidatorTest {
    @Test
    void shouldAcceptAHandWrittenSchedule() {
        PipelineSchedule schedule = PipelineSchedule.parse("""
                device 0: 0F0 0F1 0B0 0W0 0B1 0W1 0STEP
                device 1: 1F0 1B0 1F1 1B1 1W0 1W1 1STEP
                """);
        assertEquals(List.of(), ScheduleValidator.problems(schedule));
    }

    @Test
    void shouldRejectAMissingForward() {
        assertProblem("device 1 has no F for stage 1 micro-batch 0; add 1F0", "0F0 0BW0\n1BW0");
    }

    @Test
    void shouldRejectAnActionRunTwice() {
        assertProblem("device 0 runs 0F0 twice (actions 0 and 1); keep one", "0F0 0F0 0BW0");
    }

    @Test
    void shouldRejectASplitBackwardWithoutItsWeightGradient() {
        assertProblem("device 0 runs 0B0 but no 0W0 for stage 0 micro-batch 0; a split backward needs both", "0F0 0B0");
    }

    @Test
    void shouldRejectAMicroBatchWithoutBackward() {
        assertProblem("device 0 has no backward for stage 0 micro-batch 1; add 0BW1 or 0B1 and 0W1",
                "0F0 0F1 0BW0");
    }

    @Test
    void shouldRejectBothFusedAndSplitBackward() {
        assertProblem("device 0 runs both 0BW0 and its split parts for stage 0 micro-batch 0; run either BW or B and W",
                "0F0 0B0 0W0 0BW0");
    }

    @Test
    void shouldRejectABackwardBeforeItsForward() {
        assertProblem("device 0 runs 0BW0 (its action 0) before 0F0 (its action 1), which 0BW0 needs; move 0F0 earlier",
                "0BW0 0F0");
    }

    @Test
    void shouldRejectAWeightGradientBeforeItsBackward() {
        assertProblem("device 0 runs 0W0 (its action 1) before 0B0 (its action 2), which 0W0 needs; move 0B0 earlier",
                "0F0 0W0 0B0");
    }

    @Test
    void shouldRejectAForwardOfTheNextStageBeforeThisStageOnOneDevice() {
        assertProblem("device 0 runs 1F0 (its action 0) before 0F0 (its action 1), which 1F0 needs; move 0F0 earlier",
                "1F0 0F0 1BW0 0BW0");
    }

    @Test
    void shouldRejectABackwardOfAStageBeforeTheBackwardOfTheNextStageOnOneDevice() {
        assertProblem("device 0 runs 0BW0 (its action 2) before 1BW0 (its action 3), which 0BW0 needs; move 1BW0 earlier",
                "0F0 1F0 0BW0 1BW0");
    }

    @Test
    void shouldRejectAnOptimizerStepBeforeTheLastWeightGradient() {
        assertProblem("device 0 runs 0STEP (its action 2) before 0W1 (its action 5), which 0STEP needs; move 0W1 earlier",
                "0F0 0BW0 0STEP 0F1 0B1 0W1");
    }

    @Test
    void shouldRejectABackwardAcrossDevicesBeforeTheNextStagesBackwardAsNotProgressing() {
        List<String> problems = ScheduleValidator.problems(PipelineSchedule.parse("""
                device 0: 0F0 0BW0 0F1 0BW1
                device 1: 1F1 1BW1 1F0 1BW0
                """));
        assertEquals(List.of("""
                not progressing:
                  device 0 is blocked at 0BW0 (its action 1): it needs 1BW0, which is action 3 of device 1 and has not run
                  device 1 is blocked at 1F1 (its action 0): it needs 0F1, which is action 2 of device 0 and has not run\
                """), problems);
    }

    @Test
    void shouldRejectASendWithoutItsReceive() {
        String text = Schedules.oneFOneB(2, 1).withCommunication().toText();
        assertProblem("device 0 runs 0SEND_F0 but device 1 has no matching 1RECV_F0; add it there",
                text.replace(" 1RECV_F0", ""));
    }

    @Test
    void shouldRejectAnEdgeBetweenDevicesWithNeitherSendNorReceive() {
        String text = Schedules.oneFOneB(2, 1).withCommunication().toText();
        assertProblem("stages 0 and 1 are on different devices but there is neither 1SEND_B0 on device 1 nor 0RECV_B0 "
                + "on device 0; add both", text.replace(" 1SEND_B0", "").replace(" 0RECV_B0", ""));
    }

    @Test
    void shouldRejectASendBetweenStagesOfOneDevice() {
        assertProblem("device 0 runs 0SEND_F0 but stages 0 and 1 are both on device 0; remove it, the data stays on "
                + "the device", "0F0 0SEND_F0 1F0 1BW0 0BW0");
    }

    @Test
    void shouldRejectMoreActivationsThanTheLimit() {
        List<String> problems = ScheduleValidator.problems(Schedules.gpipe(4, 8), OptionalInt.of(4));
        assertEquals(4, problems.size(), problems.toString());
        assertEquals("device 0 holds up to 8 micro-batch activations, over the limit of 4 from 0F4 (its action 4) on; "
                + "run a backward before that forward or raise the limit", problems.get(0));
        assertEquals(List.of(), ScheduleValidator.problems(Schedules.oneFOneB(4, 8), OptionalInt.of(4)));
    }

    @Test
    void shouldThrowWithEveryProblemListed() {
        InvalidScheduleException error = assertThrows(InvalidScheduleException.class,
                () -> ScheduleValidator.requireValid(PipelineSchedule.parse("0F0 0F1 0B0")));
        assertEquals(2, error.problems().size(), error.getMessage());
        assertTrue(error.getMessage().startsWith("invalid pipeline schedule (2 problems):"), error.getMessage());
    }

    private static void assertProblem(String expected, String scheduleText) {
        List<String> problems = ScheduleValidator.problems(PipelineSchedule.parse(scheduleText));
        assertEquals(List.of(expected), problems);
    }
}
