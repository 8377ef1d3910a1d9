package dev.tessera.sbp;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Reads the text form {@link NdSbp#toString()} writes, for hints in configs and on the command
 * line: {@code (S(0), B)}, one SBP per hierarchy axis, each {@code S(axis)}, {@code B} or
 * {@code P}. Case and spaces do not matter; the parentheses around a single SBP may be left out.
 */
public final class SbpText {
    private static final String FORM = "write one SBP per hierarchy axis, each S(axis), B or P, e.g. (S(0), B)";

    private SbpText() {
    }

    /**
     * @throws IllegalArgumentException quoting the text, saying what is wrong and where, and
     *     showing the expected form
     */
    public static NdSbp parse(String text) {
        String body = text.strip();
        if (body.startsWith("(") && matchingParenthesis(body) == body.length() - 1) {
            body = body.substring(1, body.length() - 1);
        }
        if (body.isBlank()) {
            throw error(text, "no SBP given");
        }
        List<Sbp> axes = new ArrayList<>();
        for (String part : splitTopLevel(text, body)) {
            axes.add(single(text, part.strip()));
        }
        return new NdSbp(axes);
    }

    /** Index of the parenthesis closing the one at index 0, or -1 when it is never closed. */
    private static int matchingParenthesis(String body) {
        int depth = 0;
        for (int i = 0; i < body.length(); i++) {
            if (body.charAt(i) == '(') {
                depth++;
            } else if (body.charAt(i) == ')' && --depth == 0) {
                return i;
            }
        }
        return -1;
    }

    private static List<String> splitTopLevel(String text, String body) {
        List<String> parts = new ArrayList<>();
        int depth = 0;
        int start = 0;
        for (int i = 0; i < body.length(); i++) {
            char c = body.charAt(i);
            if (c == '(') {
                depth++;
            } else if (c == ')') {
                depth--;
                if (depth < 0) {
                    throw error(text, "unbalanced parentheses");
                }
            } else if (c == ',' && depth == 0) {
                parts.add(body.substring(start, i));
                start = i + 1;
            }
        }
        if (depth != 0) {
            throw error(text, "unbalanced parentheses");
        }
        parts.add(body.substring(start));
        return parts;
    }

    private static Sbp single(String text, String part) {
        String upper = part.replace(" ", "").toUpperCase(Locale.ROOT);
        switch (upper) {
            case "B":
                return Sbp.broadcast();
            case "P":
                return Sbp.partialSum();
            case "":
                throw error(text, "an empty entry between commas");
            default:
                break;
        }
        if (upper.startsWith("S(") && upper.endsWith(")")) {
            String axis = upper.substring(2, upper.length() - 1);
            try {
                int value = Integer.parseInt(axis);
                if (value < 0) {
                    throw error(text, "split axis " + value + " is negative");
                }
                return Sbp.split(value);
            } catch (NumberFormatException e) {
                throw error(text, "split axis '" + axis + "' is not a whole number");
            }
        }
        throw error(text, "'" + part + "' is not an SBP");
    }

    private static IllegalArgumentException error(String text, String problem) {
        return new IllegalArgumentException("bad SBP '" + text + "': " + problem + "; " + FORM);
    }
}
