package dev.tessera.plan.schedule;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * p = 4 devices, m = 8 micro-batches, printed and compared with the orderings the papers draw (read
 * per device, left to right). A change to a family shows here as a diff of text.
 */
class ScheduleGoldenTest {
    /** GPipe (Huang et al. 2019): all forwards, then all backwards. */
    @Test
    void shouldLayOutGpipeAsThePaperDraws() {
        assertEquals("""
                device 0: 0F0 0F1 0F2 0F3 0F4 0F5 0F6 0F7 0BW0 0BW1 0BW2 0BW3 0BW4 0BW5 0BW6 0BW7
                device 1: 1F0 1F1 1F2 1F3 1F4 1F5 1F6 1F7 1BW0 1BW1 1BW2 1BW3 1BW4 1BW5 1BW6 1BW7
                device 2: 2F0 2F1 2F2 2F3 2F4 2F5 2F6 2F7 2BW0 2BW1 2BW2 2BW3 2BW4 2BW5 2BW6 2BW7
                device 3: 3F0 3F1 3F2 3F3 3F4 3F5 3F6 3F7 3BW0 3BW1 3BW2 3BW3 3BW4 3BW5 3BW6 3BW7
                """, Schedules.gpipe(4, 8).toText());
    }

    /**
     * 1F1B (Megatron-LM, Narayanan et al. 2021): device i warms up with 3-i forwards; (F x, B x-(3-i)) in
     * the steady state.
     */
    @Test
    void shouldLayOutOneFOneBAsThePaperDraws() {
        assertEquals("""
                device 0: 0F0 0F1 0F2 0F3 0BW0 0F4 0BW1 0F5 0BW2 0F6 0BW3 0F7 0BW4 0BW5 0BW6 0BW7
                device 1: 1F0 1F1 1F2 1BW0 1F3 1BW1 1F4 1BW2 1F5 1BW3 1F6 1BW4 1F7 1BW5 1BW6 1BW7
                device 2: 2F0 2F1 2BW0 2F2 2BW1 2F3 2BW2 2F4 2BW3 2F5 2BW4 2F6 2BW5 2F7 2BW6 2BW7
                device 3: 3F0 3BW0 3F1 3BW1 3F2 3BW2 3F3 3BW3 3F4 3BW4 3F5 3BW5 3F6 3BW6 3F7 3BW7
                """, Schedules.oneFOneB(4, 8).toText());
    }

    /**
     * Interleaved 1F1B (Megatron-LM, Narayanan et al. 2021): rounds of 4 micro-batches through chunk 0
     * (stages 0-3), then chunk 1 (stages 4-7); device 0 warms up with 4 + 2*3 = 10 forwards.
     */
    @Test
    void shouldLayOutInterleavedOneFOneBAsThePaperDraws() {
        assertEquals("""
                device 0: 0F0 0F1 0F2 0F3 4F0 4F1 4F2 4F3 0F4 0F5 0F6 4BW0 0F7 4BW1 4F4 4BW2 4F5 4BW3 4F6 0BW0 4F7 0BW1 0BW2 0BW3 4BW4 4BW5 4BW6 4BW7 0BW4 0BW5 0BW6 0BW7
                device 1: 1F0 1F1 1F2 1F3 5F0 5F1 5F2 5F3 1F4 5BW0 1F5 5BW1 1F6 5BW2 1F7 5BW3 5F4 1BW0 5F5 1BW1 5F6 1BW2 5F7 1BW3 5BW4 5BW5 5BW6 5BW7 1BW4 1BW5 1BW6 1BW7
                device 2: 2F0 2F1 2F2 2F3 6F0 6F1 6F2 6BW0 6F3 6BW1 2F4 6BW2 2F5 6BW3 2F6 2BW0 2F7 2BW1 6F4 2BW2 6F5 2BW3 6F6 6BW4 6F7 6BW5 6BW6 6BW7 2BW4 2BW5 2BW6 2BW7
                device 3: 3F0 3F1 3F2 3F3 7F0 7BW0 7F1 7BW1 7F2 7BW2 7F3 7BW3 3F4 3BW0 3F5 3BW1 3F6 3BW2 3F7 3BW3 7F4 7BW4 7F5 7BW5 7F6 7BW6 7F7 7BW7 3BW4 3BW5 3BW6 3BW7
                """, Schedules.interleavedOneFOneB(4, 8, 2).toText());
    }

    /** 1F1B-2BP: 1F1B with each W after the next B of its device. */
    @Test
    void shouldLayOutOneFOneBTwoBpWithEachWeightAfterTheNextBackward() {
        assertEquals("""
                device 0: 0F0 0F1 0F2 0F3 0B0 0F4 0B1 0W0 0F5 0B2 0W1 0F6 0B3 0W2 0F7 0B4 0W3 0B5 0W4 0B6 0W5 0B7 0W6 0W7
                device 1: 1F0 1F1 1F2 1B0 1F3 1B1 1W0 1F4 1B2 1W1 1F5 1B3 1W2 1F6 1B4 1W3 1F7 1B5 1W4 1B6 1W5 1B7 1W6 1W7
                device 2: 2F0 2F1 2B0 2F2 2B1 2W0 2F3 2B2 2W1 2F4 2B3 2W2 2F5 2B4 2W3 2F6 2B5 2W4 2F7 2B6 2W5 2B7 2W6 2W7
                device 3: 3F0 3B0 3F1 3B1 3W0 3F2 3B2 3W1 3F3 3B3 3W2 3F4 3B4 3W3 3F5 3B5 3W4 3F6 3B6 3W5 3F7 3B7 3W6 3W7
                """, Schedules.oneFOneBTwoBp(4, 8).toText());
    }

    /** 1F1B-2BP with all W at the end, the 2BP paper's variant (Rae et al. 2024) that runs the remaining W together. */
    @Test
    void shouldLayOutOneFOneBTwoBpWithAllWeightsAtTheEnd() {
        assertEquals("""
                device 0: 0F0 0F1 0F2 0F3 0B0 0F4 0B1 0F5 0B2 0F6 0B3 0F7 0B4 0B5 0B6 0B7 0W0 0W1 0W2 0W3 0W4 0W5 0W6 0W7
                device 1: 1F0 1F1 1F2 1B0 1F3 1B1 1F4 1B2 1F5 1B3 1F6 1B4 1F7 1B5 1B6 1B7 1W0 1W1 1W2 1W3 1W4 1W5 1W6 1W7
                device 2: 2F0 2F1 2B0 2F2 2B1 2F3 2B2 2F4 2B3 2F5 2B4 2F6 2B5 2F7 2B6 2B7 2W0 2W1 2W2 2W3 2W4 2W5 2W6 2W7
                device 3: 3F0 3B0 3F1 3B1 3F2 3B2 3F3 3B3 3F4 3B4 3F5 3B5 3F6 3B6 3F7 3B7 3W0 3W1 3W2 3W3 3W4 3W5 3W6 3W7
                """, Schedules.oneFOneBTwoBpWeightsAtEnd(4, 8).toText());
    }

    /** ZB-H1 (Qi et al. 2023): steady state (F x, B x-(3-i), W x-3) on device i. */
    @Test
    void shouldLayOutZbH1AsThePaperDraws() {
        assertEquals("""
                device 0: 0F0 0F1 0F2 0F3 0B0 0W0 0F4 0B1 0W1 0F5 0B2 0W2 0F6 0B3 0W3 0F7 0B4 0W4 0B5 0W5 0B6 0W6 0B7 0W7
                device 1: 1F0 1F1 1F2 1B0 1F3 1B1 1W0 1F4 1B2 1W1 1F5 1B3 1W2 1F6 1B4 1W3 1F7 1B5 1W4 1B6 1W5 1B7 1W6 1W7
                device 2: 2F0 2F1 2B0 2F2 2B1 2F3 2B2 2W0 2F4 2B3 2W1 2F5 2B4 2W2 2F6 2B5 2W3 2F7 2B6 2W4 2B7 2W5 2W6 2W7
                device 3: 3F0 3B0 3F1 3B1 3F2 3B2 3F3 3B3 3W0 3F4 3B4 3W1 3F5 3B5 3W2 3F6 3B6 3W3 3F7 3B7 3W4 3W5 3W6 3W7
                """, Schedules.zbH1(4, 8).toText());
    }

    /**
     * ZB-H2 (Qi et al. 2023): device 0 runs 2p-1 = 7 forwards before its first B; steady state
     * (F x, B x-2(3-i), W x-6).
     */
    @Test
    void shouldLayOutZbH2AsThePaperDraws() {
        assertEquals("""
                device 0: 0F0 0F1 0F2 0F3 0F4 0F5 0F6 0B0 0W0 0F7 0B1 0W1 0B2 0W2 0B3 0W3 0B4 0W4 0B5 0W5 0B6 0W6 0B7 0W7
                device 1: 1F0 1F1 1F2 1F3 1F4 1B0 1F5 1B1 1F6 1B2 1W0 1F7 1B3 1W1 1B4 1W2 1B5 1W3 1B6 1W4 1B7 1W5 1W6 1W7
                device 2: 2F0 2F1 2F2 2B0 2F3 2B1 2F4 2B2 2F5 2B3 2F6 2B4 2W0 2F7 2B5 2W1 2B6 2W2 2B7 2W3 2W4 2W5 2W6 2W7
                device 3: 3F0 3B0 3F1 3B1 3F2 3B2 3F3 3B3 3F4 3B4 3F5 3B5 3F6 3B6 3W0 3F7 3B7 3W1 3W2 3W3 3W4 3W5 3W6 3W7
                """, Schedules.zbH2(4, 8).toText());
    }

    /**
     * ZB-V (Qi et al. 2023, section 6, as PyTorch's ScheduleZBVZeroBubble lays it out): stages 0-3 down
     * devices 0-3, stages 4-7 back up 3-0.
     */
    @Test
    void shouldLayOutZbVAsThePaperDraws() {
        assertEquals("""
                device 0: 0F0 0F1 0F2 0F3 0F4 0F5 0F6 7F0 7B0 7W0 7F1 7B1 7W1 7F2 7B2 7W2 7F3 7B3 7W3 0F7 0B0 0W0 7F4 7B4 7W4 0B1 0W1 7F5 7B5 7W5 0B2 0W2 7F6 7B6 7W6 0B3 0W3 7F7 7B7 7W7 0B4 0W4 0B5 0W5 0B6 0W6 0B7 0W7
                device 1: 1F0 1F1 1F2 1F3 1F4 6F0 1F5 6F1 6B0 6W0 6F2 6B1 6W1 6F3 6B2 6W2 1F6 1B0 1W0 6F4 6B3 6W3 1F7 1B1 1W1 6F5 6B4 6W4 1B2 1W2 6F6 6B5 6W5 1B3 1W3 6F7 6B6 6W6 1B4 6B7 1B5 1W4 1B6 1W5 1B7 1W6 6W7 1W7
                device 2: 2F0 2F1 2F2 5F0 2F3 5F1 2F4 5F2 5B0 5W0 5F3 5B1 5W1 2F5 2B0 2W0 5F4 5B2 5W2 2F6 2B1 2W1 5F5 5B3 5W3 2F7 2B2 2W2 5F6 5B4 5W4 2B3 2W3 5F7 5B5 5W5 2B4 5B6 2B5 5B7 2B6 2W4 2B7 2W5 5W6 5W7 2W6 2W7
                device 3: 3F0 4F0 3F1 4F1 3F2 4F2 3F3 4F3 4B0 4W0 3F4 3B0 3W0 4F4 4B1 4W1 3F5 3B1 3W1 4F5 4B2 4W2 3F6 3B2 3W2 4F6 4B3 4W3 3F7 3B3 3W3 4F7 4B4 4W4 3B4 4B5 3B5 4B6 3B6 4B7 3B7 3W4 4W5 4W6 4W7 3W5 3W6 3W7
                """, Schedules.zbV(4, 8).toText());
    }
}
