package dev.tessera.deploy.launch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.tessera.api.DataSource;
import dev.tessera.deploy.config.ConfigLoader;
import dev.tessera.deploy.config.ModelRegistry;
import dev.tessera.deploy.config.RunConfig;
import dev.tessera.deploy.train.Trainer;
import dev.tessera.lowering.DistributedTraining;
import dev.tessera.lowering.PhysicalLowering;
import dev.tessera.tensor.HostTensor;
import dev.tessera.tensor.Tolerance;
import dev.tessera.worker.actors.ActorExecutorOptions;
import dev.tessera.worker.actors.ParallelExecutor;
import dev.tessera.worker.exec.NonFiniteException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A gradient that overflows in the second micro-batch of step 2 (the test model {@code exploding},
 * from batch 3 on), once on 2 virtual devices in this JVM and once as 2 worker processes: the
 * processes stop with the very error of the virtual devices (step, gradient, the first op whose
 * output was not finite and its micro-batch, found by replaying the iteration on every worker),
 * and their parameters and optimizer state afterwards are the virtual devices' (the failing update
 * was undone on every worker). Afterwards no worker runs and no driver directory is left.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class MultiProcessNonFiniteTest {
    private static final String BASE = "model { type = exploding, explode_at = 3 }\n"
            + "train { batch_size = 4, micro_batches = 2, seed = 3, steps = 2 }\n"
            + "optimizer.lr = 0.01\n"
            + "parallel.worker_jvm_options = [\"-XX:TieredStopAtLevel=1\", \"-XX:+UseSerialGC\"]\n";
    private static final double[] RATES = {0.01, 0.01};

    @TempDir
    Path dir;

    @AfterEach
    void nothingLeft() throws Exception {
        MultiProcessTrainingTest.assertNoWorkerLeft();
    }

    @ParameterizedTest(name = "{0} as 2 processes")
    @CsvSource(delimiter = '|', value = {
        "data 2|parallel={devices=2,data=2}",
        "two stages, 1F1B|parallel={devices=2,pipeline=2,stages={head=1},schedule=1f1b}"})
    void shouldStopWithTheErrorAndStateOfTheVirtualDevices(String name, String layout) {
        RunConfig config = load(layout, "parallel.processes=2");
        List<List<Map<String, HostTensor>>> batches = batches(config);
        NonFiniteException expected;
        Map<String, HostTensor> expectedParameters;
        Map<String, HostTensor> expectedState;
        try (ParallelExecutor virtual = new ParallelExecutor(lower(config), config.settings().seed(),
                ActorExecutorOptions.defaults())) {
            expected = assertThrows(NonFiniteException.class, () -> virtual.run(batches, RATES));
            expectedParameters = virtual.parameters();
            expectedState = virtual.optimizerState();
        }
        assertTrue(expected.getMessage().contains("at step 2;") && expected.getMessage().contains("micro-batch 1,"),
                expected.getMessage());

        try (ProcessJob job = ProcessJob.start(config, lower(config), ActorExecutorOptions.defaults(), dir,
                note -> { })) {
            NonFiniteException actual = assertThrows(NonFiniteException.class, () -> job.run(0, batches, RATES));

            assertEquals(expected.getMessage(), actual.getMessage());
            assertEquals(expected.opName(), actual.opName());
            assertEquals(expected.tensorName(), actual.tensorName());
            assertEquals(1, actual.iteration());
            Tolerance.EXACT.requireClose("parameters after the failure", expectedParameters, job.parameters());
            Tolerance.EXACT.requireClose("optimizer state after the failure", expectedState, job.optimizerState());
        }
    }

    private static RunConfig load(String... overrides) {
        return new ConfigLoader(ModelRegistry.fromClassPath()).load(ConfigFactory.parseString(BASE),
                List.of(overrides));
    }

    private static DistributedTraining lower(RunConfig config) {
        Trainer.Prepared prepared = Trainer.prepare(config);
        return PhysicalLowering.lower(prepared.setup().graph(), prepared.plan().assignment());
    }

    /** Two iterations of the run's micro-batches, as every worker draws them. */
    private static List<List<Map<String, HostTensor>>> batches(RunConfig config) {
        DataSource data = Trainer.prepare(config).setup().model().trainData(config.settings().seed(),
                config.settings().batchSize());
        int microBatches = config.settings().microBatches();
        List<List<Map<String, HostTensor>>> iterations = new ArrayList<>();
        for (int i = 0; i < RATES.length; i++) {
            List<Map<String, HostTensor>> iteration = new ArrayList<>();
            for (int j = 0; j < microBatches; j++) {
                iteration.add(data.batch((long) i * microBatches + j));
            }
            iterations.add(iteration);
        }
        return iterations;
    }
}
