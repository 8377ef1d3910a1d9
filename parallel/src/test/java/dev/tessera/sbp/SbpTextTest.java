package dev.tessera.sbp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class SbpTextTest {

    @Test
    void shouldReadWhatNdSbpWrites() {
        NdSbp sbp = NdSbp.of(Sbp.split(0), Sbp.broadcast(), Sbp.partialSum(), Sbp.split(12));

        assertEquals(sbp, SbpText.parse(sbp.toString()));
    }

    @Test
    void shouldIgnoreCaseSpacesAndMissingParentheses() {
        assertEquals(NdSbp.of(Sbp.split(1), Sbp.broadcast()), SbpText.parse("  s( 1 ),b "));
        assertEquals(NdSbp.of(Sbp.broadcast(), Sbp.split(1)), SbpText.parse("B, S(1)"));
        assertEquals(NdSbp.of(Sbp.split(0)), SbpText.parse("S(0)"));
        assertEquals(NdSbp.of(Sbp.partialSum()), SbpText.parse("(P)"));
    }

    @Test
    void shouldNameTheTextAndTheProblemInErrors() {
        assertMessage("(S(0), X)", "'X' is not an SBP");
        assertMessage("(S(a), B)", "split axis 'A' is not a whole number");
        assertMessage("(S(-1), B)", "split axis -1 is negative");
        assertMessage("(S(0), B", "unbalanced parentheses");
        assertMessage("S(0)), B", "unbalanced parentheses");
        assertMessage("(S(0),, B)", "an empty entry between commas");
        assertMessage("()", "no SBP given");
    }

    private static void assertMessage(String text, String problem) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SbpText.parse(text));
        assertTrue(e.getMessage().startsWith("bad SBP '" + text + "': " + problem), e.getMessage());
        assertTrue(e.getMessage().endsWith("e.g. (S(0), B)"), e.getMessage());
    }
}
