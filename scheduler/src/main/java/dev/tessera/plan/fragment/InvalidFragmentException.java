package dev.tessera.plan.fragment;

import java.util.List;

/** A plan fragment (or set of fragments) that cannot run; the message lists every problem, one a line. */
public final class InvalidFragmentException extends IllegalArgumentException {
    private final List<String> problems;

    public InvalidFragmentException(List<String> problems) {
        super("invalid plan fragment (" + problems.size() + " problem" + (problems.size() == 1 ? "" : "s")
                + "):\n  " + String.join("\n  ", problems));
        this.problems = List.copyOf(problems);
    }

    public List<String> problems() {
        return problems;
    }
}
