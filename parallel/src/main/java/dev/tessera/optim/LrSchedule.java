package dev.tessera.optim;

/** The learning rate as a pure function of the iteration (0-based). */
public sealed interface LrSchedule {

    double at(long step);

    record Constant(double lr) implements LrSchedule {
        public Constant {
            if (!(lr > 0)) {
                throw new IllegalArgumentException("optimizer.lr must be > 0, got " + lr);
            }
        }

        @Override
        public double at(long step) {
            return lr;
        }
    }

    /**
     * Linear warm-up from near zero to {@code peakLr} over {@code warmupSteps}, then a cosine
     * decay to {@code minLr} at {@code totalSteps}; {@code minLr} after that.
     */
    record WarmupCosine(double peakLr, long warmupSteps, long totalSteps, double minLr) implements LrSchedule {
        public WarmupCosine {
            if (!(peakLr > 0) || minLr < 0 || minLr > peakLr) {
                throw new IllegalArgumentException("need 0 <= min_lr <= lr and lr > 0, got lr=" + peakLr
                        + " min_lr=" + minLr);
            }
            if (warmupSteps < 0 || totalSteps <= 0) {
                throw new IllegalArgumentException("need warmup_steps >= 0 and steps > 0, got "
                        + warmupSteps + " and " + totalSteps);
            }
        }

        @Override
        public double at(long step) {
            if (step < warmupSteps) {
                return peakLr * (step + 1) / warmupSteps;
            }
            long decaySteps = Math.max(1, totalSteps - warmupSteps);
            double progress = Math.min(1.0, (double) (step - warmupSteps) / decaySteps);
            return minLr + 0.5 * (peakLr - minLr) * (1 + Math.cos(Math.PI * progress));
        }
    }
}
