package dev.tessera.deploy;

import java.util.List;

/**
 * Bad input from the user (config, command line, data, checkpoint choice): the CLI prints each
 * problem as one {@code error: ...} line and exits with status 2, without a stack trace.
 */
public class InputException extends RuntimeException {
    private final List<String> problems;

    public InputException(String problem) {
        this(List.of(problem));
    }

    /** @param problems one self-contained sentence each; at least one */
    public InputException(List<String> problems) {
        super(String.join("\n", problems));
        if (problems.isEmpty()) {
            throw new IllegalArgumentException("an input error needs at least one problem");
        }
        this.problems = List.copyOf(problems);
    }

    public List<String> problems() {
        return problems;
    }
}
