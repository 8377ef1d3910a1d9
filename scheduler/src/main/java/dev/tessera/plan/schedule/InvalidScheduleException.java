package dev.tessera.plan.schedule;

import java.util.List;

/** A pipeline schedule that cannot run; the message lists every problem, one a line. */
public final class InvalidScheduleException extends IllegalArgumentException {
    private final List<String> problems;

    public InvalidScheduleException(List<String> problems) {
        super("invalid pipeline schedule (" + problems.size() + " problem" + (problems.size() == 1 ? "" : "s")
                + "):\n  " + String.join("\n  ", problems));
        this.problems = List.copyOf(problems);
    }

    public List<String> problems() {
        return problems;
    }
}
