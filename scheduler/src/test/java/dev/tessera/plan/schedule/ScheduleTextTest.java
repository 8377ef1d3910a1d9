package dev.tessera.plan.schedule;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class ScheduleTextTest {
    @Test
    void shouldReadEachActionKindFromItsTextForm() {
        assertEquals(Action.forward(0, 3), Action.parse("0F3"));
        assertEquals(Action.backwardInput(1, 2), Action.parse("1B2"));
        assertEquals(Action.backwardWeight(1, 2), Action.parse("1W2"));
        assertEquals(Action.fullBackward(2, 0), Action.parse("2BW0"));
        assertEquals(Action.sendActivation(0, 3), Action.parse("0SEND_F3"));
        assertEquals(Action.receiveActivation(1, 3), Action.parse("1RECV_F3"));
        assertEquals(Action.sendGradient(1, 3), Action.parse("1SEND_B3"));
        assertEquals(Action.receiveGradient(0, 3), Action.parse("0RECV_B3"));
        assertEquals(Action.optimizerStep(4), Action.parse("4STEP"));
        assertEquals(Action.parse("12BW11"), Action.fullBackward(12, 11));
        for (String text : List.of("0F3", "1B2", "1W2", "2BW0", "0SEND_F3", "1RECV_F3", "1SEND_B3", "0RECV_B3", "4STEP")) {
            assertEquals(text, Action.parse(text).toString());
        }
    }

    @Test
    void shouldRejectMalformedActionsSayingWhatToWrite() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Action.parse("F3")).getMessage()
                .contains("cannot read action 'F3'; write stage, kind and micro-batch"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Action.parse("0F")).getMessage()
                .contains("give the micro-batch after F"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Action.parse("0STEP1")).getMessage()
                .contains("STEP takes no micro-batch"));
    }

    @Test
    void shouldPrintOneLinePerDeviceAndParseItBack() {
        PipelineSchedule schedule = Schedules.oneFOneB(2, 2);
        String text = "device 0: 0F0 0F1 0BW0 0BW1\ndevice 1: 1F0 1BW0 1F1 1BW1\n";
        assertEquals(text, schedule.toText());
        assertEquals(schedule, PipelineSchedule.parse(text));
    }

    @Test
    void shouldRoundTripExplicitCommunicationAndOptimizerSteps() {
        PipelineSchedule schedule = Schedules.zbV(2, 3).withCommunication().withOptimizerSteps();
        assertTrue(schedule.hasCommunication());
        assertEquals(schedule, PipelineSchedule.parse(schedule.toText()));
        String device0 = schedule.toText().lines().findFirst().orElseThrow();
        assertTrue(device0.startsWith("device 0: 0F0 0SEND_F0 0F1 0SEND_F1 0F2 0SEND_F2 3RECV_F0 3F0"), device0);
        assertTrue(device0.endsWith("0STEP 3STEP"), device0);
    }

    @Test
    void shouldInferPlacementAndMicroBatchesWithoutDevicePrefixes() {
        PipelineSchedule schedule = PipelineSchedule.parse("""
                # a hand-written V on one device
                0F0 1F0 1BW0 0BW0
                """);
        assertEquals(List.of(0, 0), schedule.deviceOfStage());
        assertEquals(1, schedule.microBatches());
        assertFalse(schedule.hasCommunication());
    }

    @Test
    void shouldRejectTextWhoseStagesSpanDevicesOrSkipNumbers() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> PipelineSchedule.parse("0F0 0BW0\n0F1 0BW1"))
                .getMessage().contains("device 1 runs 0F1 but device 0 also runs actions of stage 0"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> PipelineSchedule.parse("0F0 0BW0\n2F0 2BW0"))
                .getMessage().contains("stage 1 appears on no device"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> PipelineSchedule.parse("device 1: 0F0 0BW0"))
                .getMessage().contains("line 1 is for device 1 but is the schedule's line for device 0"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> PipelineSchedule.parse("0F0 0X0"))
                .getMessage().contains("line 1 (device 0): cannot read action '0X0'"));
    }
}
