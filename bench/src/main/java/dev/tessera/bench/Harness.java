package dev.tessera.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A small timing harness: every contender is warmed up, then measured in several repeats of a
 * fixed number of steps. Repeats of the contenders are interleaved (A, B, A, B, ...) so that a
 * slow phase of the machine (another process, a GC) hits both rather than one.
 */
final class Harness {
    /**
     * Something to time: {@code timer} runs the given number of training steps and returns the
     * nanoseconds they took (a contender in another process times itself, so the pipe is not
     * counted).
     */
    record Contender(String name, StepTimer timer) {
        /** A contender whose one call of {@code step} is one training step, timed here. */
        Contender(String name, Runnable step) {
            this(name, steps -> {
                long start = System.nanoTime();
                for (int i = 0; i < steps; i++) {
                    step.run();
                }
                return System.nanoTime() - start;
            });
        }
    }

    /** Runs {@code steps} training steps and returns how many nanoseconds they took. */
    @FunctionalInterface
    interface StepTimer {
        long nanos(int steps);
    }

    /** Milliseconds per step of each repeat, in the contenders' order. */
    record Result(String name, double[] millisPerStep) {
        double median() {
            double[] sorted = millisPerStep.clone();
            Arrays.sort(sorted);
            int n = sorted.length;
            return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
        }

        double min() {
            return Arrays.stream(millisPerStep).min().orElse(Double.NaN);
        }

        double max() {
            return Arrays.stream(millisPerStep).max().orElse(Double.NaN);
        }

        @Override
        public String toString() {
            return String.format("%-34s median %8.2f ms/step   min %8.2f   max %8.2f   (%d repeats)", name, median(),
                    min(), max(), millisPerStep.length);
        }
    }

    private final int warmupSteps;
    private final int repeats;
    private final int stepsPerRepeat;

    Harness(int warmupSteps, int repeats, int stepsPerRepeat) {
        this.warmupSteps = warmupSteps;
        this.repeats = repeats;
        this.stepsPerRepeat = stepsPerRepeat;
    }

    List<Result> measure(List<Contender> contenders) {
        for (Contender c : contenders) {
            if (warmupSteps > 0) {
                c.timer().nanos(warmupSteps);
            }
        }
        double[][] times = new double[contenders.size()][repeats];
        for (int r = 0; r < repeats; r++) {
            for (int c = 0; c < contenders.size(); c++) {
                times[c][r] = contenders.get(c).timer().nanos(stepsPerRepeat) / 1e6 / stepsPerRepeat;
            }
        }
        List<Result> results = new ArrayList<>();
        for (int c = 0; c < contenders.size(); c++) {
            results.add(new Result(contenders.get(c).name(), times[c]));
        }
        return results;
    }

    /**
     * The median over repeats of {@code a[r] / b[r]}: each ratio compares two contenders measured
     * back to back, so a slow phase of a shared machine cancels out of it.
     */
    static double pairedRatio(Result a, Result b) {
        double[] ratios = new double[a.millisPerStep().length];
        for (int r = 0; r < ratios.length; r++) {
            ratios[r] = a.millisPerStep()[r] / b.millisPerStep()[r];
        }
        return new Result("ratio", ratios).median();
    }

    @Override
    public String toString() {
        return warmupSteps + " warm-up steps each, then " + repeats + " interleaved repeats of " + stepsPerRepeat
                + " steps";
    }
}
