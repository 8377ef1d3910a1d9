package dev.tessera.deploy.cli;

import dev.tessera.deploy.InputException;
import dev.tessera.deploy.checkpoint.CheckpointStore;
import dev.tessera.deploy.config.ConfigLoader;
import dev.tessera.deploy.config.ModelRegistry;
import dev.tessera.deploy.config.RunConfig;
import dev.tessera.deploy.run.Progress;
import dev.tessera.deploy.run.RunDirectory;
import dev.tessera.deploy.train.Trainer;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code tessera train <config>}: trains a model on the actor runtime and writes a run directory. */
@Command(name = "train", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = "Trains the model a HOCON config names, writing metrics, a loss chart, a summary and checkpoints to a run directory.",
        footer = {"", "Examples:",
                "  tessera train examples/configs/gpt-addition.conf",
                "  tessera train my.conf --set train.steps=100 --set optimizer.lr=3e-4",
                "  tessera train my.conf --run-dir runs/a --set checkpoint.every=100",
                "  tessera train my.conf --resume runs/a",
                "  tessera train my.conf --set parallel.devices=2 --set parallel.pipeline=2 \\",
                "      --set 'parallel.stages={\"block1.\"=1}' --trace",
                "  tessera train my.conf --set parallel.devices=2 --set parallel.data=2 --set parallel.processes=2"})
public class TrainCommand implements Callable<Integer> {
    static final Path RUNS = Path.of("runs");
    /** Summary keys the trainer writes itself; every other key is an evaluation metric of the model. */
    private static final java.util.Set<String> FRAMEWORK_SUMMARY_KEYS = java.util.Set.of("model", "steps", "initial_loss",
            "final_loss", "samples_per_s", "tokens_per_s", "wall_s", "parameters", "resumed_from_step", "devices", "layout",
            "processes");

    @Parameters(index = "0", paramLabel = "<config>", description = "The run config (HOCON).")
    Path config;

    @Option(names = "--set", paramLabel = "key=value",
            description = "Overrides any config key; the value is parsed as HOCON (repeatable).")
    List<String> overrides = new ArrayList<>();

    @Option(names = "--run-dir", paramLabel = "DIR",
            description = "Where the run's files go (default: runs/<model>-<yyyyMMdd-HHmmss>).")
    Path runDirectory;

    @Option(names = "--resume", arity = "0..1", fallbackValue = "", paramLabel = "DIR",
            description = "Continues a run from its newest checkpoint: DIR is a run directory or one of its "
                    + "checkpoints/ckpt-<step> folders; without DIR, --run-dir or else the newest run of the model.")
    String resume;

    @Option(names = "--trace",
            description = "Records every action of the actor runtime and writes trace.json (Chrome trace events, "
                    + "one track per device, with parallel.processes > 1 one process row per worker on the "
                    + "coordinator's clock; open it in ui.perfetto.dev) into the run directory. For short runs: "
                    + "the file grows by about 150 bytes per op per micro-batch.")
    boolean trace;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        RunConfig run = new ConfigLoader(ModelRegistry.fromClassPath()).load(config, overrides);
        // build and lay out the graph before a run directory exists: a layout that cannot work
        // (conflicting hints) is a config error and leaves nothing behind
        Trainer.Prepared prepared = Trainer.prepare(run);
        PrintWriter out = spec.commandLine().getOut();
        Map<String, Object> summary;
        Path directory;
        try (Progress progress = Progress.forConsole(System.out)) {
            if (resume == null) {
                directory = runDirectory != null ? runDirectory
                        : RunDirectory.defaultPath(RUNS, run.modelType(), LocalDateTime.now());
                RunDirectory fresh = RunDirectory.createFresh(directory);
                out.println("run directory: " + directory);
                out.flush();
                summary = new Trainer(run, prepared, fresh, progress, trace).train();
            } else {
                Path target = resumeTarget(run.modelType());
                boolean isCheckpoint = Files.exists(target.resolve(CheckpointStore.MANIFEST_FILE));
                directory = isCheckpoint ? target.toAbsolutePath().getParent().getParent() : target;
                out.println("resuming run directory: " + directory);
                out.flush();
                summary = new Trainer(run, prepared, RunDirectory.existing(directory), progress, trace)
                        .resume(isCheckpoint ? target : null);
            }
        }
        out.println(describe(summary) + "; results in " + directory);
        return 0;
    }

    private Path resumeTarget(String model) {
        if (!resume.isEmpty()) {
            Path target = Path.of(resume);
            if (runDirectory != null && !runDirectory.toAbsolutePath().normalize().equals(target.toAbsolutePath().normalize())) {
                throw new InputException("--resume " + resume + " and --run-dir " + runDirectory
                        + " name different runs; give one of them");
            }
            return target;
        }
        if (runDirectory != null) {
            return runDirectory;
        }
        return newestRun(model).orElseThrow(() -> new InputException("--resume: no run of model " + model
                + " with a checkpoint under " + RUNS + "; name the run with --resume DIR"));
    }

    /** The newest {@code runs/<model>-*} folder that holds a checkpoint. */
    private static java.util.Optional<Path> newestRun(String model) {
        if (!Files.isDirectory(RUNS)) {
            return java.util.Optional.empty();
        }
        try (Stream<Path> runs = Files.list(RUNS)) {
            return runs.filter(p -> p.getFileName().toString().startsWith(model + "-"))
                    .filter(p -> Files.isDirectory(p.resolve("checkpoints")))
                    .max(Comparator.comparing(p -> p.getFileName().toString()));
        } catch (IOException e) {
            throw new InputException("cannot list " + RUNS + ": " + e.getMessage());
        }
    }

    private static String describe(Map<String, Object> summary) {
        StringBuilder s = new StringBuilder("done: " + summary.get("steps") + " steps");
        s.append(String.format(Locale.ROOT, ", loss %.4f -> %.4f", summary.get("initial_loss"), summary.get("final_loss")));
        for (Map.Entry<String, Object> e : summary.entrySet()) {
            if (!FRAMEWORK_SUMMARY_KEYS.contains(e.getKey()) && e.getValue() instanceof Number) {
                s.append(String.format(Locale.ROOT, ", %s %.4f", e.getKey(), ((Number) e.getValue()).doubleValue()));
            }
        }
        return s.toString();
    }
}
