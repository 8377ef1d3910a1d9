package dev.tessera.deploy.train;

import dev.tessera.autodiff.TrainingOptions;
import dev.tessera.deploy.InputException;
import dev.tessera.deploy.config.TrainSettings;
import dev.tessera.optim.LrSchedule;
import dev.tessera.optim.Optimizer;
import dev.tessera.optim.StepValidation;

/** Turns the {@code optimizer} keys into the training API's optimizer, schedule and options. */
public record Optimization(TrainingOptions options, LrSchedule schedule) {

    /** @throws InputException when the combination is invalid (e.g. min_lr above lr) */
    static Optimization from(TrainSettings s) {
        TrainSettings.Optimizer o = s.optimizer();
        try {
            Optimizer optimizer = switch (o.type()) {
                case "sgd" -> new Optimizer.Sgd(o.momentum(), o.weightDecay());
                case "adamw" -> new Optimizer.AdamW(o.beta1(), o.beta2(), o.epsilon(), o.weightDecay());
                default -> throw new InputException("optimizer.type: must be one of adamw, sgd, got '" + o.type() + "'");
            };
            LrSchedule schedule = switch (s.schedule().type()) {
                case "constant" -> new LrSchedule.Constant(o.lr());
                case "cosine" -> new LrSchedule.WarmupCosine(o.lr(), s.schedule().warmupSteps(), s.steps(), s.schedule().minLr());
                default -> throw new InputException("optimizer.schedule.type: must be one of constant, cosine, got '"
                        + s.schedule().type() + "'");
            };
            return new Optimization(new TrainingOptions(s.microBatches(), optimizer, o.clipNorm(),
                    StepValidation.fromConfigName(o.stepValidation())), schedule);
        } catch (IllegalArgumentException e) {
            throw new InputException(e.getMessage());
        }
    }
}
