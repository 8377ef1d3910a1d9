package dev.tessera.deploy.run;

import java.io.PrintStream;
import java.time.Duration;
import java.util.Locale;

/** One line per logged step, for logs that are read later: step, loss, throughput, ETA. */
final class PlainProgress implements Progress {
    private final PrintStream out;
    private long firstStep;
    private long totalSteps;
    private long startNanos;

    PlainProgress(PrintStream out) {
        this.out = out;
    }

    @Override
    public void start(long firstStep, long totalSteps) {
        this.firstStep = firstStep;
        this.totalSteps = totalSteps;
        this.startNanos = System.nanoTime();
        out.println(firstStep == 0 ? "training " + totalSteps + " steps"
                : "resuming at step " + firstStep + " of " + totalSteps);
    }

    @Override
    public void step(long step, double loss, double samplesPerSecond, double tokensPerSecond, boolean logged) {
        if (!logged) {
            return;
        }
        double elapsed = (System.nanoTime() - startNanos) / 1e9;
        long done = step - firstStep;
        long etaSeconds = done == 0 ? 0 : Math.round(elapsed / done * (totalSteps - step));
        out.printf(Locale.ROOT, "step %d/%d  loss %.4f  %s samples/s%s  eta %s%n", step, totalSteps, loss,
                Progress.rate(samplesPerSecond),
                tokensPerSecond > 0 ? "  " + Progress.rate(tokensPerSecond) + " tokens/s" : "",
                format(Duration.ofSeconds(etaSeconds)));
    }

    static String format(Duration d) {
        return String.format(Locale.ROOT, "%d:%02d:%02d", d.toHours(), d.toMinutesPart(), d.toSecondsPart());
    }

    @Override
    public void note(String line) {
        out.println(line);
    }

    @Override
    public void close() {
        out.flush();
    }
}
