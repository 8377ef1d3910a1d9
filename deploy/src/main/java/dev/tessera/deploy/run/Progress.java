package dev.tessera.deploy.run;

import java.io.PrintStream;

/**
 * Shows training progress to the person at the terminal: a live bar when stdout is a terminal,
 * plain periodic lines otherwise (CI logs, pipes), nothing in tests.
 */
public interface Progress extends AutoCloseable {

    /** Training begins (or resumes) at {@code firstStep} of {@code totalSteps}. */
    void start(long firstStep, long totalSteps);

    /**
     * Step {@code step} (1-based, completed) finished.
     *
     * @param logged whether this step is written to the metrics log (plain output prints only these)
     * @param tokensPerSecond 0 when the model has no tokens
     */
    void step(long step, double loss, double samplesPerSecond, double tokensPerSecond, boolean logged);

    /** A line that must not be lost in the bar: evaluation results, checkpoints. */
    void note(String line);

    @Override
    void close();

    /** The bar on a terminal, plain lines otherwise. */
    static Progress forConsole(PrintStream out) {
        return System.console() != null ? new TerminalProgress(out) : new PlainProgress(out);
    }

    /** Shows nothing. */
    static Progress silent() {
        return new Progress() {
            @Override
            public void start(long firstStep, long totalSteps) {
            }

            @Override
            public void step(long step, double loss, double samplesPerSecond, double tokensPerSecond, boolean logged) {
            }

            @Override
            public void note(String line) {
            }

            @Override
            public void close() {
            }
        };
    }

    /** {@code 1234.5} -> {@code "1.23k"}: throughput that stays short in a bar. */
    static String rate(double perSecond) {
        if (perSecond >= 1e6) {
            return String.format(java.util.Locale.ROOT, "%.2fM", perSecond / 1e6);
        }
        if (perSecond >= 1e3) {
            return String.format(java.util.Locale.ROOT, "%.2fk", perSecond / 1e3);
        }
        return String.format(java.util.Locale.ROOT, "%.1f", perSecond);
    }
}
