package dev.tessera.runtime.plan;

import java.util.List;

/** A plan that cannot run; the message lists every problem found, one a line. */
public final class InvalidPlanException extends IllegalArgumentException {
    private final List<String> problems;

    public InvalidPlanException(List<String> problems) {
        super("invalid plan (" + problems.size() + " problem" + (problems.size() == 1 ? "" : "s")
                + "):\n  " + String.join("\n  ", problems));
        this.problems = List.copyOf(problems);
    }

    public List<String> problems() {
        return problems;
    }
}
