package dev.tessera.examples.train;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.tessera.api.DataSource;
import dev.tessera.api.Model;
import dev.tessera.api.ModelGraph;
import dev.tessera.api.ModelProvider;
import dev.tessera.autodiff.Autodiff;
import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.autodiff.TrainingOptions;
import dev.tessera.examples.data.FashionMnist;
import dev.tessera.graph.DType;
import dev.tessera.graph.GraphBuilder;
import dev.tessera.graph.Op;
import dev.tessera.lowering.DistributedTraining;
import dev.tessera.optim.LrSchedule;
import dev.tessera.optim.Optimizer;
import dev.tessera.sbp.DeviceId;
import dev.tessera.sbp.Placement;
import dev.tessera.sbp.infer.CostModel;
import dev.tessera.sbp.infer.StageRules;
import dev.tessera.tensor.HostTensor;
import dev.tessera.tensor.Tolerance;
import dev.tessera.worker.actors.ActorExecutorOptions;
import dev.tessera.worker.actors.ParallelExecutor;
import dev.tessera.worker.exec.ReferenceExecutor;
import dev.tessera.worker.exec.StepResult;
import dev.tessera.worker.exec.TrainingExecutor;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The example models themselves, trained for many iterations on the actor runtime (one device,
 * and split by hand over two: two pipeline stages of one device each, as {@code parallel.pipeline}
 * with {@code parallel.stages} lays them out) against the reference executor on the same batches:
 * losses, gradient norms, every parameter and every optimizer state tensor are bit for bit the
 * same (Tolerance.EXACT): each op runs the same kernel on the same values, on whichever device.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class ActorRuntimeEquivalenceTest {
    private static final int ITERATIONS = 12;
    private static final int MICRO_BATCHES = 2;
    private static final long SEED = 5;

    private record Setup(Model model, TrainingGraph graph, List<List<Map<String, HostTensor>>> batches,
            double[] learningRates) {
    }

    private static Setup setup(String configFile, String overrides, int batchSize) {
        Config user = ConfigFactory.parseString(overrides).withFallback(ConfigFactory.parseFile(new File(configFile)));
        ModelProvider provider = ServiceLoader.load(ModelProvider.class).stream().map(ServiceLoader.Provider::get)
                .filter(p -> p.name().equals(user.getString("model.type"))).findFirst().orElseThrow();
        Config config = user.withFallback(ConfigFactory.parseString(provider.referenceConfig())).resolve();
        Model model = provider.create(config);
        GraphBuilder g = new GraphBuilder(DType.F32);
        ModelGraph mg = model.build(g, batchSize);
        TrainingGraph graph = Autodiff.build(g.build(), mg.loss(),
                new TrainingOptions(MICRO_BATCHES, new Optimizer.AdamW(0.9, 0.999, 1e-8, 0.01), 1.0));
        DataSource data = model.trainData(SEED, batchSize);
        LrSchedule schedule = new LrSchedule.WarmupCosine(3e-3, 3, ITERATIONS, 1e-4);
        List<List<Map<String, HostTensor>>> batches = new ArrayList<>();
        double[] rates = new double[ITERATIONS];
        for (int step = 0; step < ITERATIONS; step++) {
            List<Map<String, HostTensor>> micro = new ArrayList<>();
            for (int j = 0; j < MICRO_BATCHES; j++) {
                micro.add(data.batch((long) step * MICRO_BATCHES + j));
            }
            batches.add(micro);
            rates[step] = schedule.at(step);
        }
        return new Setup(model, graph, batches, rates);
    }

    private static void assertSameTraining(Setup s, ActorExecutorOptions options) {
        try (ParallelExecutor actors = ParallelExecutor.onOneDevice(s.graph(), SEED, options)) {
            assertSameTraining(s, actors);
        }
    }

    /** Stage 0 on device 0:0, and the ops of {@code secondStage} (by name prefix) on stage 1, device 0:1. */
    private static void assertSameTrainingSplit(Setup s, String... secondStage) {
        Map<String, Placement> rules = new LinkedHashMap<>();
        for (String prefix : secondStage) {
            rules.put(prefix, stage(1));
        }
        Map<Op, Placement> stages = new StageRules(rules).resolve(s.graph().ops(), stage(0));
        DistributedTraining split = DistributedTraining.plan(s.graph(), stage(0), stages, Map.of(),
                CostModel.standard());
        try (ParallelExecutor actors = new ParallelExecutor(split, SEED, ActorExecutorOptions.defaults())) {
            assertSameTraining(s, actors);
        }
    }

    private static Placement stage(int index) {
        return Placement.of(List.of(new DeviceId(0, index)), 1, 1);
    }

    private static void assertSameTraining(Setup s, TrainingExecutor actors) {
        try (ReferenceExecutor reference = new ReferenceExecutor(s.graph(), SEED)) {
            List<StepResult> expected = new ArrayList<>();
            for (int step = 0; step < ITERATIONS; step++) {
                expected.add(reference.step(s.batches().get(step), s.learningRates()[step]));
            }
            List<StepResult> actual = actors.run(s.batches(), s.learningRates());
            assertTrue(expected.get(ITERATIONS - 1).loss() < expected.get(0).loss(), "the model should learn");
            for (int step = 0; step < ITERATIONS; step++) {
                Tolerance.EXACT.requireClose("loss at step " + step, expected.get(step).loss(),
                        actual.get(step).loss());
                Tolerance.EXACT.requireClose("gradient norm at step " + step, expected.get(step).gradNorm(),
                        actual.get(step).gradNorm());
            }
            Tolerance.EXACT.requireClose("parameters", reference.parameters(), actors.parameters());
            Tolerance.EXACT.requireClose("optimizer state", reference.optimizerState(), actors.optimizerState());
        }
    }

    @Test
    void shouldTrainTheGptExampleOnActorsExactlyAsTheReference() {
        Setup s = setup("configs/gpt-addition.conf", "", 16);
        assertSameTraining(s, ActorExecutorOptions.defaults());
        assertSameTraining(s, ActorExecutorOptions.defaults().withRegisterQuota(2));
    }

    @Test
    void shouldTrainTheGptExampleSplitOverTwoDevicesLikeTheReference() {
        Setup s = setup("configs/gpt-addition.conf", "", 16);
        assertSameTrainingSplit(s, "block1.", "ln_final.", "head.");
    }

    @Test
    void shouldTrainTheMlpExampleOnActorsAndSplitLikeTheReference() {
        Assumptions.assumeTrue(Files.isRegularFile(Path.of(FashionMnist.DEFAULT_PATH, "train-images-idx3-ubyte.gz")),
                "dataset-fashion-mnist is not installed (apt-get install dataset-fashion-mnist)");
        Setup s = setup("configs/mlp-fashion.conf", "data.train_limit = 2000, data.test_limit = 100", 32);
        assertSameTraining(s, ActorExecutorOptions.defaults());
        assertSameTrainingSplit(s, "fc2.", "out.");
    }
}
