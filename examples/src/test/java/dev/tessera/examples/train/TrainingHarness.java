package dev.tessera.examples.train;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.tessera.api.DataSource;
import dev.tessera.api.Model;
import dev.tessera.api.ModelGraph;
import dev.tessera.api.ModelProvider;
import dev.tessera.autodiff.Autodiff;
import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.autodiff.TrainingOptions;
import dev.tessera.graph.DType;
import dev.tessera.graph.GraphBuilder;
import dev.tessera.optim.LrSchedule;
import dev.tessera.optim.Optimizer;
import dev.tessera.worker.exec.ReferenceExecutor;
import dev.tessera.worker.exec.StepResult;
import java.io.File;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;

/**
 * A minimal training loop over the public API and the reference executor, for tests that check
 * the examples really learn (the tessera CLI is the real front end). Its {@code main} trains a
 * config file for tuning: {@code TrainingHarness examples/configs/gpt-addition.conf [steps]}.
 */
public final class TrainingHarness {
    /** What a run ended with. */
    public record Result(double initialLoss, double finalLoss, Map<String, Double> metrics, double seconds) {
    }

    private TrainingHarness() {
    }

    /** Trains the config's model with AdamW and warmup-cosine as the config's train/optimizer sections say. */
    public static Result train(Config config, boolean verbose) {
        ModelProvider provider = ServiceLoader.load(ModelProvider.class).stream().map(ServiceLoader.Provider::get)
                .filter(p -> p.name().equals(config.getString("model.type"))).findFirst().orElseThrow();
        Config resolved = config.withFallback(ConfigFactory.parseString(provider.referenceConfig())).resolve();
        Model model = provider.create(resolved);
        int steps = resolved.getInt("train.steps");
        int batchSize = resolved.getInt("train.batch_size");
        long seed = resolved.getLong("train.seed");
        double lr = resolved.getDouble("optimizer.lr");
        GraphBuilder g = new GraphBuilder(DType.F32);
        ModelGraph graph = model.build(g, batchSize);
        TrainingGraph training = Autodiff.build(g.build(), graph.loss(), new TrainingOptions(1,
                new Optimizer.AdamW(0.9, 0.999, 1e-8, resolved.getDouble("optimizer.weight_decay")),
                resolved.getDouble("optimizer.clip_norm")));
        LrSchedule schedule = new LrSchedule.WarmupCosine(lr, resolved.getLong("optimizer.schedule.warmup_steps"), steps,
                resolved.getDouble("optimizer.schedule.min_lr"));
        DataSource data = model.trainData(seed, batchSize);
        long start = System.nanoTime();
        double initial = Double.NaN;
        double last = Double.NaN;
        double smoothed = Double.NaN;
        try (ReferenceExecutor executor = new ReferenceExecutor(training, seed)) {
            for (int step = 0; step < steps; step++) {
                StepResult r = executor.step(List.of(data.batch(step)), schedule.at(step));
                if (step == 0) {
                    initial = r.loss();
                    smoothed = r.loss();
                }
                smoothed = 0.95 * smoothed + 0.05 * r.loss();
                last = r.loss();
                if (verbose && (step % 100 == 0 || step == steps - 1)) {
                    System.out.printf("step %d loss %.4f smoothed %.4f  %.1fs%n", step, r.loss(), smoothed,
                            (System.nanoTime() - start) / 1e9);
                }
            }
            double trainSeconds = (System.nanoTime() - start) / 1e9;
            Map<String, Double> metrics = model.evaluate(executor.inference(model));
            if (verbose) {
                System.out.printf("%s: train %.1fs, total %.1fs, %s%n", model.describe(), trainSeconds,
                        (System.nanoTime() - start) / 1e9, metrics);
            }
            return new Result(initial, smoothed, metrics, (System.nanoTime() - start) / 1e9);
        }
    }

    public static void main(String[] args) {
        Config config = ConfigFactory.parseFile(new File(args[0]));
        for (int i = 1; i < args.length; i++) {
            config = ConfigFactory.parseString(args[i]).withFallback(config);
        }
        train(config, true);
    }
}
