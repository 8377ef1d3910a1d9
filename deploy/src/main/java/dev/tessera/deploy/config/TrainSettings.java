package dev.tessera.deploy.config;

import com.typesafe.config.Config;
import dev.tessera.deploy.InputException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The framework keys of a run config as typed values, range-checked. Types were already checked
 * against {@code reference.conf}; this adds the limits a type cannot say (steps > 0, known
 * optimizer names), each problem naming its key.
 */
public record TrainSettings(long steps, int batchSize, int microBatches, long seed, long logEvery, long evalEvery,
                            Optimizer optimizer, Schedule schedule, long checkpointEvery, int checkpointKeep,
                            int threads, int sourcePrefetch) {

    /** Another spelling of {@code cosine} (the schedule warms up either way), as the example configs write it. */
    private static final String WARMUP_COSINE = "warmup_cosine";

    /**
     * {@code optimizer.*}: type is {@code adamw} or {@code sgd}; step validation is
     * {@code before-step} or {@code post-validation}.
     */
    public record Optimizer(String type, double lr, double beta1, double beta2, double epsilon,
                            double weightDecay, double momentum, double clipNorm, String stepValidation) {
    }

    /** {@code optimizer.schedule.*}: type is {@code constant} or {@code cosine}. */
    public record Schedule(String type, long warmupSteps, double minLr) {
    }

    /** @throws InputException with one line per out-of-range key */
    public static TrainSettings from(Config c) {
        List<String> problems = new ArrayList<>();
        long steps = atLeast(c, "train.steps", 1, problems);
        int batchSize = (int) atLeast(c, "train.batch_size", 1, problems);
        int microBatches = (int) atLeast(c, "train.micro_batches", 1, problems);
        long seed = atLeast(c, "train.seed", Long.MIN_VALUE, problems);
        long logEvery = atLeast(c, "train.log_every", 1, problems);
        long evalEvery = atLeast(c, "train.eval_every", 0, problems);
        String type = oneOf(c, "optimizer.type", Set.of("adamw", "sgd"), problems);
        double lr = positive(c, "optimizer.lr", problems);
        double beta1 = fraction(c, "optimizer.beta1", problems);
        double beta2 = fraction(c, "optimizer.beta2", problems);
        double epsilon = positive(c, "optimizer.epsilon", problems);
        double weightDecay = nonNegative(c, "optimizer.weight_decay", problems);
        double momentum = fraction(c, "optimizer.momentum", problems);
        double clipNorm = nonNegative(c, "optimizer.clip_norm", problems);
        String stepValidation = oneOf(c, "optimizer.step_validation", Set.of("before-step", "post-validation"),
                problems);
        String scheduleType = oneOf(c, "optimizer.schedule.type", Set.of("constant", "cosine", WARMUP_COSINE), problems);
        if (scheduleType.equals(WARMUP_COSINE)) {
            scheduleType = "cosine";
        }
        long warmup = atLeast(c, "optimizer.schedule.warmup_steps", 0, problems);
        double minLr = nonNegative(c, "optimizer.schedule.min_lr", problems);
        long every = atLeast(c, "checkpoint.every", 0, problems);
        int keep = (int) atLeast(c, "checkpoint.keep", 1, problems);
        int threads = (int) atLeast(c, "runtime.threads", 1, problems);
        int sourcePrefetch = (int) atLeast(c, "runtime.source_prefetch", 1, problems);
        for (String intKey : List.of("train.batch_size", "train.micro_batches", "checkpoint.keep", "runtime.threads",
                "runtime.source_prefetch")) {
            if (c.getDouble(intKey) > Integer.MAX_VALUE) {
                problems.add(intKey + ": must be at most " + Integer.MAX_VALUE + ", got " + c.getValue(intKey).render());
            }
        }
        if (scheduleType.equals("cosine") && minLr > lr) {
            problems.add("optimizer.schedule.min_lr: must not exceed optimizer.lr (" + lr + "), got " + minLr);
        }
        if (!problems.isEmpty()) {
            throw new InputException(problems);
        }
        return new TrainSettings(steps, batchSize, microBatches, seed, logEvery, evalEvery,
                new Optimizer(type, lr, beta1, beta2, epsilon, weightDecay, momentum, clipNorm, stepValidation),
                new Schedule(scheduleType, warmup, minLr), every, keep, threads, sourcePrefetch);
    }

    /** Examples consumed by one optimizer step. */
    public long examplesPerStep() {
        return (long) batchSize * microBatches;
    }

    private static long atLeast(Config c, String path, long min, List<String> problems) {
        double exact = c.getDouble(path);
        if (exact != Math.rint(exact) || Math.abs(exact) > Long.MAX_VALUE / 2.0) {
            problems.add(path + ": must be a whole number, got " + c.getValue(path).render());
            return min;
        }
        long v = c.getLong(path);
        if (v < min) {
            problems.add(path + ": must be at least " + min + ", got " + v);
        }
        return v;
    }

    private static double positive(Config c, String path, List<String> problems) {
        double v = c.getDouble(path);
        if (!(v > 0) || Double.isInfinite(v)) {
            problems.add(path + ": must be a positive number, got " + v);
        }
        return v;
    }

    private static double nonNegative(Config c, String path, List<String> problems) {
        double v = c.getDouble(path);
        if (!(v >= 0) || Double.isInfinite(v)) {
            problems.add(path + ": must be zero or positive, got " + v);
        }
        return v;
    }

    private static double fraction(Config c, String path, List<String> problems) {
        double v = c.getDouble(path);
        if (!(v >= 0 && v < 1)) {
            problems.add(path + ": must be in [0, 1), got " + v);
        }
        return v;
    }

    private static String oneOf(Config c, String path, Set<String> allowed, List<String> problems) {
        String v = c.getString(path).trim().toLowerCase(java.util.Locale.ROOT);
        if (!allowed.contains(v)) {
            problems.add(path + ": must be one of " + String.join(", ", allowed.stream().sorted().toList())
                    + ", got '" + c.getString(path) + "'");
        }
        return v;
    }
}
