package dev.tessera.deploy.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.tessera.api.Model;
import dev.tessera.api.ModelProvider;
import dev.tessera.deploy.InputException;
import dev.tessera.plan.schedule.ScheduleName;
import dev.tessera.sbp.NdSbp;
import dev.tessera.sbp.Sbp;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {
    @TempDir
    Path dir;

    /** A model that declares a few keys of each type; it is never built here. */
    private static ModelProvider provider(String name) {
        return new ModelProvider() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public String referenceConfig() {
                return "model { hidden = 64, dropout = 0.1, tie_weights = false, layers = [64, 32] }\n"
                        + "data { path = \"/usr/share/datasets/x\", digits = 3 }";
            }

            @Override
            public Model create(Config config) {
                throw new UnsupportedOperationException("not built in config tests");
            }
        };
    }

    private final ConfigLoader loader = new ConfigLoader(new ModelRegistry(List.of(provider("mlp"), provider("gpt"))));

    private RunConfig load(String text, String... overrides) {
        return loader.load(ConfigFactory.parseString(text), List.of(overrides));
    }

    private String problem(String text, String... overrides) {
        InputException e = assertThrows(InputException.class, () -> load(text, overrides));
        return e.getMessage();
    }

    @Test
    void shouldMergeUserValuesOverModelAndFrameworkDefaults() {
        Config c = load("model { type = mlp, hidden = 128 }\ntrain.steps = 50").config();

        assertEquals(128, c.getInt("model.hidden"));
        assertEquals(0.1, c.getDouble("model.dropout"));
        assertEquals(50, c.getLong("train.steps"));
        assertEquals(32, c.getInt("train.batch_size"));
        assertEquals("adamw", c.getString("optimizer.type"));
        assertEquals(3, c.getInt("data.digits"));
    }

    @Test
    void shouldApplyOverridesParsedAsHoconWithTheLastOneWinning() {
        Config c = load("model.type = mlp",
                "train.steps=100", "optimizer.lr=3e-4", "model.layers=[8, 4]", "model.tie_weights=true",
                "train.steps=200", "data.path=/tmp/my data", "optimizer.schedule.type=cosine").config();

        assertEquals(200, c.getLong("train.steps"));
        assertEquals(3e-4, c.getDouble("optimizer.lr"));
        assertEquals(List.of(8, 4), c.getIntList("model.layers"));
        assertTrue(c.getBoolean("model.tie_weights"));
        assertEquals("/tmp/my data", c.getString("data.path"));
        assertEquals("cosine", c.getString("optimizer.schedule.type"));
    }

    @Test
    void shouldKeepAnOverrideWithACommentMarkerAsAPlainString() {
        Config c = load("model.type = mlp", "data.path=http://example.org/a#b").config();

        assertEquals("http://example.org/a#b", c.getString("data.path"));
    }

    @Test
    void shouldSelectTheModelTypeFromAnOverride() {
        assertEquals("gpt", load("model.type = mlp", "model.type=gpt").modelType());
    }

    @Test
    void shouldRejectAnUnknownKeyNamingItsPathAndTheValidKeys() {
        String message = problem("model.type = mlp\ntrain { stepz = 10 }");

        assertTrue(message.startsWith("unknown key train.stepz"), message);
        assertTrue(message.contains("valid keys of train: batch_size, eval_every, log_every, micro_batches, seed, steps"), message);
    }

    @Test
    void shouldRejectAnUnknownKeySetByAnOverrideAndSayWhereItCameFrom() {
        String message = problem("model.type = mlp", "optimizer.schedule.warmup=10");

        assertTrue(message.startsWith("unknown key optimizer.schedule.warmup (--set optimizer.schedule.warmup=10)"), message);
        assertTrue(message.contains("valid keys of optimizer.schedule: min_lr, type, warmup_steps"), message);
    }

    @Test
    void shouldRejectAnUnknownTopLevelSection() {
        String message = problem("model.type = mlp\nparallelism { stages = 2 }");

        assertTrue(message.contains("unknown key parallelism"), message);
        assertTrue(message.contains("valid top-level keys: checkpoint, data, model, optimizer, parallel, runtime, train"), message);
    }

    @Test
    void shouldReadParallelHintsByTensorNameWhetherTheDottedKeyIsQuotedOrNot() {
        ParallelSettings parallel = load("model.type = mlp\nparallel { devices = 4, data = 2, tensor = 2,"
                + " hints { fc1.weight = \"(B, S(1))\", \"fc2.bias\" = \"b, s(0)\" } }").parallel();

        assertEquals(java.util.Map.of("fc1.weight", NdSbp.of(Sbp.broadcast(), Sbp.split(1)),
                "fc2.bias", NdSbp.of(Sbp.broadcast(), Sbp.split(0))), parallel.hints());
        assertEquals(4, parallel.placement().size());
    }

    @Test
    void shouldReadParallelAutoAsShortForTheAutoKeyKeepingTheOtherParallelKeys() {
        ParallelSettings inFile = load("model.type = mlp\nparallel = auto", "parallel.devices=4", "parallel.data=4")
                .parallel();
        assertTrue(inFile.auto());
        assertEquals(4, inFile.devices());
        ParallelSettings asOverride = load("model.type = mlp\nparallel { devices = 2, data = 2 }", "parallel=auto")
                .parallel();
        assertTrue(asOverride.auto());
        assertEquals(2, asOverride.devices());
    }

    @Test
    void shouldReadThePipelineScheduleByItsNameAndDefaultToNone() {
        assertTrue(load("model.type = mlp").parallel().schedule().isEmpty());
        ParallelSettings zeroBubble = load("model.type = mlp\nparallel { devices = 2, pipeline = 2, schedule = ZB-H1,"
                + " stages { \"head.\" = 1 } }").parallel();
        assertEquals(java.util.Optional.of(ScheduleName.ZB_H1), zeroBubble.schedule());
    }

    @Test
    void shouldRejectAnUnknownScheduleListingTheValidNames() {
        String message = problem("model.type = mlp\nparallel.schedule = 1f2b");

        assertTrue(message.contains("parallel.schedule: unknown pipeline schedule '1f2b'; choose one of none, gpipe, "
                + "1f1b, 1f1b-2bp, 1f1b-2bp-weights-at-end, zb-h1, zb-h2, interleaved-1f1b, zb-v, auto"), message);
    }

    @Test
    void shouldNumberTheStagesOfASchedulesWithSeveralStagesPerDeviceOverAllOfThem() {
        ParallelSettings v = load("model.type = mlp\nparallel { devices = 2, pipeline = 2, schedule = zb-v,"
                + " stages { \"fc2.\" = 1, \"head.\" = 3 } }").parallel();
        assertEquals(2, v.stagesPerDevice());
        assertEquals(List.of(0, 1, 1, 0), List.of(v.positionOfStage(0), v.positionOfStage(1), v.positionOfStage(2),
                v.positionOfStage(3)));
        ParallelSettings looped = load("model.type = mlp\nparallel { devices = 2, pipeline = 2, chunks = 2,"
                + " schedule = interleaved-1f1b, stages { \"fc2.\" = 1, \"head.\" = 3 } }").parallel();
        assertEquals(List.of(0, 1, 0, 1), List.of(looped.positionOfStage(0), looped.positionOfStage(1),
                looped.positionOfStage(2), looped.positionOfStage(3)));
        String beyond = problem("model.type = mlp\nparallel { devices = 2, pipeline = 2, schedule = zb-v,"
                + " stages { \"head.\" = 4 } }");
        assertTrue(beyond.contains("stage 4 does not exist; parallel.pipeline = 2 with 2 stages per device gives "
                + "stages 0..3"), beyond);
    }

    @Test
    void shouldRejectChunksWithoutAnInterleavedScheduleAndMicroBatchesTheScheduleCannotRun() {
        String chunks = problem("model.type = mlp\nparallel { devices = 2, pipeline = 2, schedule = 1f1b, chunks = 2,"
                + " stages { \"head.\" = 1 } }");
        assertTrue(chunks.contains("parallel.chunks: 2 stages per device need parallel.schedule = interleaved-1f1b"),
                chunks);
        String rounds = problem("model.type = mlp\ntrain.micro_batches = 9\nparallel { devices = 4, pipeline = 4,"
                + " schedule = interleaved-1f1b, chunks = 2, stages { \"a.\" = 1, \"b.\" = 2, \"c.\" = 3 } }");
        assertTrue(rounds.contains("parallel.schedule: interleaved 1F1B with 4 devices"), rounds);
        assertTrue(rounds.contains("(train.micro_batches = 9, parallel.pipeline = 4)"), rounds);
    }

    @Test
    void shouldRejectAHintThatIsNotAString() {
        String message = problem("model.type = mlp\nparallel.hints { x = 3 }");

        assertTrue(message.startsWith("parallel.hints.x: expected a string, got number 3"), message);
    }

    @Test
    void shouldRejectAWronglyTypedValueNamingPathExpectedTypeAndValue() {
        String message = problem("model.type = mlp\ntrain.steps = lots");

        assertEquals("train.steps: expected a number, got string \"lots\" (String: 2)", message);
    }

    @Test
    void shouldRejectAFractionForAnIntegerFrameworkKey() {
        String message = problem("model.type = mlp", "train.batch_size=1.5");

        assertEquals("train.batch_size: must be a whole number, got 1.5", message);
    }

    @Test
    void shouldReadSourcePrefetchWithTwoByDefaultAndRejectZero() {
        assertEquals(2, load("model.type = mlp").settings().sourcePrefetch());
        assertEquals(4, load("model.type = mlp", "runtime.source_prefetch=4").settings().sourcePrefetch());

        assertEquals("runtime.source_prefetch: must be at least 1, got 0",
                problem("model.type = mlp", "runtime.source_prefetch=0"));
    }

    @Test
    void shouldRejectEachProblemOnItsOwnLine() {
        InputException e = assertThrows(InputException.class,
                () -> load("model.type = mlp\noptimizer.lr = fast\nmodel.tie_weights = maybe\ntrain = 3\ndata.digitz = 2"));

        assertEquals(4, e.problems().size(), e.getMessage());
        assertTrue(e.problems().get(0).startsWith("data.digitz") || e.problems().get(0).startsWith("unknown key data.digitz"), e.getMessage());
        assertTrue(e.getMessage().contains("model.tie_weights: expected a boolean, got string \"maybe\""), e.getMessage());
        assertTrue(e.getMessage().contains("optimizer.lr: expected a number, got string \"fast\""), e.getMessage());
        assertTrue(e.getMessage().contains("train: expected a section with keys batch_size"), e.getMessage());
    }

    @Test
    void shouldAcceptAnIntegerWhereANumberIsDeclaredAndNumericStrings() {
        Config c = load("model.type = mlp\noptimizer.lr = 1\nmodel.dropout = \"0.25\"").config();

        assertEquals(1.0, c.getDouble("optimizer.lr"));
        assertEquals(0.25, c.getDouble("model.dropout"));
    }

    @Test
    void shouldListTheAvailableModelsForAnUnknownModelType() {
        assertEquals("unknown model.type 'resnet'; available models: gpt, mlp", problem("model.type = resnet"));
        assertEquals("model.type is not set; available models: gpt, mlp", problem("train.steps = 3"));
    }

    @Test
    void shouldRejectAnOverrideWithoutEquals() {
        assertTrue(problem("model.type = mlp", "train.steps").startsWith("--set expects key=value"));
    }

    @Test
    void shouldReportAMissingOrUnparsableFileByName() throws IOException {
        InputException missing = assertThrows(InputException.class, () -> loader.load(dir.resolve("nope.conf"), List.of()));
        assertTrue(missing.getMessage().contains("nope.conf does not exist"), missing.getMessage());

        Path broken = Files.writeString(dir.resolve("broken.conf"), "model { type = mlp\n");
        InputException parse = assertThrows(InputException.class, () -> loader.load(broken, List.of()));
        assertTrue(parse.getMessage().startsWith("cannot parse config " + broken), parse.getMessage());
    }

    @Test
    void shouldResolveSubstitutionsAgainstDefaults() {
        Config c = load("model.type = mlp\noptimizer.schedule.min_lr = ${optimizer.lr}").config();

        assertEquals(0.001, c.getDouble("optimizer.schedule.min_lr"));
    }

    @Test
    void shouldHashOnlyTheKeysThatChangeTheTrajectory() {
        String base = load("model.type = mlp").trajectoryHash();

        assertEquals(base, load("model.type = mlp", "train.log_every=1", "checkpoint.every=5").trajectoryHash());
        assertNotEquals(base, load("model.type = mlp", "optimizer.lr=0.5").trajectoryHash());
    }

    @Test
    void shouldAcceptWarmupCosineAsAnotherNameOfCosine() {
        assertEquals("cosine", load("model.type = mlp", "optimizer.schedule.type=warmup_cosine").settings().schedule().type());
    }

    @Test
    void shouldRejectAMinimumLearningRateAboveThePeak() {
        assertEquals("optimizer.schedule.min_lr: must not exceed optimizer.lr (0.001), got 0.5",
                problem("model.type = mlp", "optimizer.schedule.type=cosine", "optimizer.schedule.min_lr=0.5"));
    }

    @Test
    void shouldCheckRangesNamingTheKey() {
        InputException e = assertThrows(InputException.class, () -> load("model.type = mlp", "train.steps=0", "optimizer.type=adam"));

        assertEquals(List.of("train.steps: must be at least 1, got 0",
                "optimizer.type: must be one of adamw, sgd, got 'adam'"), e.problems());
    }

    @Test
    void shouldReadTheGradientBucketSizeAsASizeOrZeroAndRejectOthersNamingTheKey() {
        assertEquals(25L << 20, load("model.type = mlp").parallel().gradientBucketBytes(), "the default");
        assertEquals(0, load("model.type = mlp", "parallel.gradient_bucket_bytes=0").parallel().gradientBucketBytes());
        assertEquals(4L << 20, load("model.type = mlp", "parallel.gradient_bucket_bytes=4 MiB").parallel()
                .gradientBucketBytes());
        for (String bad : List.of("-1", "lots", "\"-3 KiB\"")) {
            String message = problem("model.type = mlp", "parallel.gradient_bucket_bytes=" + bad);
            assertTrue(message.contains("parallel.gradient_bucket_bytes: must be 0 (one collective per gradient) or a "
                    + "size such as \"25 MiB\""), message);
        }
    }
}
