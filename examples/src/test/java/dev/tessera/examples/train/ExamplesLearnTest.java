package dev.tessera.examples.train;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.tessera.examples.data.FashionMnist;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Short end-to-end runs through the reference executor: data source, model graph, autodiff,
 * training and the model's own evaluation together. Far from the full runs of the configs, but
 * enough to see that the models learn rather than merely run.
 */
class ExamplesLearnTest {

    private static Config run(String text) {
        return ConfigFactory.parseString(text).withFallback(ConfigFactory.parseString("""
                train { seed = 1 }
                optimizer { lr = 3e-3, weight_decay = 0.0, clip_norm = 1.0, schedule { warmup_steps = 10, min_lr = 1e-4 } }
                """));
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void shouldClassifyFashionMnistWellAboveChanceAfterAFewSteps() {
        Assumptions.assumeTrue(Files.isRegularFile(Path.of(FashionMnist.DEFAULT_PATH, "train-images-idx3-ubyte.gz")),
                "dataset-fashion-mnist is not installed");

        TrainingHarness.Result result = TrainingHarness.train(run("""
                train { steps = 150, batch_size = 64 }
                model { type = mlp, hidden = [64] }
                data { train_limit = 10000, test_limit = 1000 }
                """), false);

        assertTrue(result.metrics().get("test_accuracy") > 0.7, "accuracy " + result.metrics());
        assertTrue(result.finalLoss() < result.initialLoss() / 2, result.initialLoss() + " -> " + result.finalLoss());
    }

    /**
     * The README's main run, through this harness instead of the CLI: a few minutes, so only
     * with {@code -Dtessera.longTests=true}.
     */
    @Test
    @EnabledIfSystemProperty(named = "tessera.longTests", matches = "true")
    @Timeout(value = 15, unit = TimeUnit.MINUTES)
    void shouldLearnThreeDigitAdditionWithTheShippedConfig() {
        TrainingHarness.Result result = TrainingHarness.train(
                ConfigFactory.parseFile(new File("configs/gpt-addition.conf")), true);

        assertTrue(result.metrics().get("test_exact_match") > 0.5, "exact match " + result.metrics());
        assertTrue(result.finalLoss() < 0.1, result.initialLoss() + " -> " + result.finalLoss());
    }
}
