package dev.tessera.deploy.run;

import java.io.PrintStream;
import java.time.Duration;
import java.util.Locale;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/** A live bar: steps done, loss and throughput in its message, elapsed time and ETA. */
final class TerminalProgress implements Progress {
    private final PrintStream out;
    private ProgressBar bar;

    TerminalProgress(PrintStream out) {
        this.out = out;
    }

    @Override
    public void start(long firstStep, long totalSteps) {
        bar = new ProgressBarBuilder().setTaskName("train").setInitialMax(totalSteps)
                .setStyle(ProgressBarStyle.COLORFUL_UNICODE_BLOCK).setUpdateIntervalMillis(200)
                .setConsumer(new ConsoleProgressBarConsumer(out)).setUnit(" steps", 1)
                .startsFrom(firstStep, Duration.ZERO).build();
    }

    @Override
    public void step(long step, double loss, double samplesPerSecond, double tokensPerSecond, boolean logged) {
        bar.stepTo(step);
        bar.setExtraMessage(String.format(Locale.ROOT, " loss %.4f  %s samples/s%s", loss, Progress.rate(samplesPerSecond),
                tokensPerSecond > 0 ? "  " + Progress.rate(tokensPerSecond) + " tok/s" : ""));
    }

    @Override
    public void note(String line) {
        // Printing over the live bar would garble both; the bar redraws below the line.
        out.print("\r\033[K");
        out.println(line);
    }

    @Override
    public void close() {
        if (bar != null) {
            bar.close();
        }
    }
}
