package dev.tessera.deploy.cli;

import dev.tessera.deploy.InputException;
import dev.tessera.deploy.config.ConfigLoader;
import dev.tessera.deploy.config.ModelRegistry;
import dev.tessera.deploy.config.RunConfig;
import dev.tessera.deploy.simulate.ConfigStageTimes;
import dev.tessera.deploy.simulate.GanttChart;
import dev.tessera.deploy.simulate.PipelineSimulation;
import dev.tessera.deploy.simulate.PipelineSimulation.Outcome;
import dev.tessera.deploy.simulate.SimulationJson;
import dev.tessera.deploy.simulate.SimulationText;
import dev.tessera.deploy.simulate.StageTimes;
import dev.tessera.deploy.simulate.TwoBpPrediction;
import dev.tessera.plan.simulate.AnalyticTransformer;
import dev.tessera.plan.simulate.DeviceProfile;
import dev.tessera.deploy.checkpoint.AtomicFiles;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code tessera simulate}: runs pipeline schedules on modeled devices (the scheduler's simulator)
 * and prints step time, bubble rate and peak activations, for synthetic stage times or those of a
 * config's model; optionally writes a Gantt chart and a Chrome trace per schedule.
 */
@Command(name = "simulate", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = {"Simulates pipeline schedules on modeled devices, one stage per device, and prints per schedule the "
                + "step time, the bubble rate (idle time over total device time) and the peak activations per device.",
                "Stage times are synthetic (--stages, --micro-batches, --times, in any one time unit) or come from a "
                + "config: parallel.pipeline stages, train.micro_batches, and per stage the FLOPs of one micro-batch's "
                + "F, B and W ops over the planner's standard FLOP rate, in seconds (transfers between stages cost 0 "
                + "then). Schedules with several chunks per device (interleaved-1f1b, zb-v) split each device's times "
                + "evenly over its chunks.",
                "With --profile (a100, h100 or a file from 'tessera calibrate') a config's stage times are each op's "
                + "roofline time on that device, max(FLOPs / matmul rate, bytes / memory bandwidth), and each stage "
                + "boundary costs the link's latency plus the crossing activations' bytes over its bandwidth. "
                + "--preset llama-7b takes a LLaMa-7B described in closed form instead of a config, prints the "
                + "table and the predicted speed-up of 1F1B-2BP over 1F1B next to the 2BP paper's 1.70x."},
        footer = {"", "Schedules: gpipe, 1f1b, interleaved-1f1b, 1f1b-2bp, 1f1b-2bp-w-at-end, zb-h1, zb-h2, zb-v, auto.",
                "", "Examples:",
                "  tessera simulate --stages 4 --micro-batches 12 --times F=1.0,B=1.1,W=0.6,comm=0.05 --compare",
                "  tessera simulate --stages 4 --micro-batches 8 --schedule zb-h1 --out sim/",
                "  tessera simulate --stages 4 --micro-batches 8 --times F=1.0:1.2:1.0:1.4,B=2,W=1 --memory-limit 6 --json",
                "  tessera simulate examples/configs/gpt-addition.conf --set parallel.devices=2 --set parallel.pipeline=2 \\",
                "      --set 'parallel.stages={\"block1.\"=1, \"ln_final.\"=1, \"head.\"=1}' --set train.micro_batches=8",
                "  tessera simulate --preset llama-7b --profile a100 --stages 4 --micro-batches 8 --compare"})
public final class SimulateCommand implements Callable<Integer> {

    @Parameters(index = "0", arity = "0..1", paramLabel = "<config>",
            description = "A run config (HOCON) whose model gives the stage times; without it give --stages and --micro-batches.")
    Path config;

    @Option(names = "--set", paramLabel = "key=value",
            description = "Overrides a config key, as for 'tessera plan' (repeatable; needs <config>).")
    List<String> overrides = new ArrayList<>();

    @Option(names = "--stages", paramLabel = "P", description = "Pipeline stages, one per device (without <config>).")
    Integer stages;

    @Option(names = "--micro-batches", paramLabel = "M", description = "Micro-batches per step (without <config>).")
    Integer microBatches;

    @Option(names = "--times", paramLabel = "SPEC", description = "Time of one micro-batch per stage: F=T,B=T,W=T,comm=T; "
            + "T is one number for all stages or one per stage joined by ':' (F=1.0:1.2:1.0:1.4); omitted F, B, W are 1, "
            + "comm (one transfer between devices) 0. Without <config> only.")
    String times;

    @Option(names = "--schedule", paramLabel = "NAME", description = "Simulate this one schedule and print its text form "
            + "and per-device table.")
    String schedule;

    @Option(names = "--compare", description = "Simulate every schedule and auto and print one row each (the default "
            + "without --schedule).")
    boolean compare;

    @Option(names = "--chunks", paramLabel = "V", defaultValue = "2",
            description = "Chunks per device of interleaved-1f1b (default: ${DEFAULT-VALUE}; zb-v always has 2).")
    int chunks;

    @Option(names = "--memory-limit", paramLabel = "N", description = "Most activations (micro-batches) a device may "
            + "hold under auto (default: the number of stages, what 1F1B holds).")
    Integer memoryLimit;

    @Option(names = "--profile", paramLabel = "a100|h100|FILE", description = "The modeled device: a built-in GPU "
            + "profile (datasheet peaks at stated sustained fractions) or a profile file written by 'tessera calibrate'. "
            + "With <config> or --preset only (default with --preset: a100).")
    String profile;

    @Option(names = "--preset", paramLabel = "NAME", description = "A model described in closed form instead of a "
            + "config: llama-7b (32 layers, d 4096, FFN 11008 SwiGLU, 32 heads, vocabulary 32000, bf16); stages "
            + "default to 4, micro-batches to 8.")
    String preset;

    @Option(names = "--sequence-length", paramLabel = "S", description = "Sequence length of --preset (default 4096).")
    Integer sequenceLength;

    @Option(names = "--micro-batch-size", paramLabel = "B", description = "Sequences per micro-batch of --preset "
            + "(default 1).")
    Integer microBatchSize;

    @Option(names = "--json", description = "Print the same as JSON.")
    boolean json;

    @Option(names = "--out", paramLabel = "DIR", description = "Write <schedule>.png (a Gantt chart) and "
            + "<schedule>.trace.json (Chrome trace, for ui.perfetto.dev) for each simulated schedule to DIR.")
    Path out;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        if (schedule != null && compare) {
            throw new InputException("--schedule " + schedule + " and --compare ask for one schedule and for all; give one of them");
        }
        String source;
        StageTimes stageTimes;
        int m;
        TwoBpPrediction prediction = null;
        if (preset == null && (sequenceLength != null || microBatchSize != null)) {
            throw new InputException("--sequence-length and --micro-batch-size size a --preset model; add --preset "
                    + "llama-7b or drop them");
        }
        DeviceProfile device = profile == null ? null : resolveProfile(profile);
        if (config != null && preset != null) {
            throw new InputException("<config> " + config + " and --preset " + preset + " both give a model; give one");
        }
        if (config != null) {
            if (stages != null || microBatches != null || times != null) {
                throw new InputException("<config> " + config + " gives the stages, micro-batches and times; drop "
                        + "--stages, --micro-batches and --times, or drop the config (change it with --set "
                        + "parallel.pipeline=P --set train.micro_batches=M)");
            }
            RunConfig run = new ConfigLoader(ModelRegistry.fromClassPath()).load(config, overrides);
            stageTimes = ConfigStageTimes.of(run, device);
            m = run.settings().microBatches();
            source = device == null ? "seconds, from the FLOPs of " + config + "'s model at the planner's standard rate"
                    : "seconds, each op of " + config + "'s model at its roofline time on " + device.name()
                            + ", transfers over its link";
        } else if (preset != null) {
            if (times != null || !overrides.isEmpty()) {
                throw new InputException("--preset " + preset + " gives the stage times; drop --times and --set");
            }
            if (!preset.strip().equalsIgnoreCase("llama-7b")) {
                throw new InputException("--preset: there is no preset named '" + preset + "'; use llama-7b");
            }
            int p = stages == null ? 4 : stages;
            m = microBatches == null ? 8 : microBatches;
            if (m < 1) {
                throw new InputException("--micro-batches: " + m + " micro-batches cannot fill a step; give at least 1");
            }
            int sequence = sequenceLength == null ? 4096 : sequenceLength;
            int batch = microBatchSize == null ? 1 : microBatchSize;
            AnalyticTransformer model;
            try {
                model = AnalyticTransformer.llama7b(sequence, batch);
                model.layersPerStage(p);
            } catch (IllegalArgumentException e) {
                throw new InputException("--preset " + preset + ": " + e.getMessage() + "; change --stages, "
                        + "--sequence-length or --micro-batch-size");
            }
            prediction = TwoBpPrediction.of(model, device == null ? DeviceProfile.a100() : device, p, m);
            stageTimes = prediction.stageTimes();
            source = "seconds, " + prediction.describe();
        } else {
            if (device != null) {
                throw new InputException("--profile " + profile + " turns a model's FLOPs and bytes into times; give "
                        + "a <config> or --preset llama-7b with it (--times are times already)");
            }
            if (!overrides.isEmpty()) {
                throw new InputException("--set changes a config, but none is given; name one or drop --set");
            }
            if (stages == null || microBatches == null) {
                throw new InputException("give the stages and micro-batches to simulate (e.g. --stages 4 "
                        + "--micro-batches 8) or a config whose model gives them");
            }
            if (stages < 1) {
                throw new InputException("--stages: " + stages + " stages; give at least 1");
            }
            stageTimes = times == null ? StageTimes.unit(stages) : StageTimes.parse(times, stages);
            m = microBatches;
            source = "synthetic";
        }
        PipelineSimulation simulation = new PipelineSimulation(stageTimes, m, chunks,
                memoryLimit == null ? stageTimes.stages() : memoryLimit);
        List<Outcome> outcomes = schedule == null ? simulation.compare() : List.of(simulation.one(schedule));
        PrintWriter printer = spec.commandLine().getOut();
        Map<String, Map<String, Path>> files = out == null ? Map.of() : write(outcomes, simulation);
        if (json) {
            printer.print(SimulationJson.render(simulation, source, outcomes, files, schedule != null,
                    prediction == null ? Map.of() : Map.of("two_bp_prediction", prediction.toJson())));
        } else {
            printer.print(schedule == null ? SimulationText.comparison(simulation, source, outcomes)
                    : SimulationText.single(simulation, source, outcomes.get(0)));
            if (prediction != null) {
                printer.print(prediction.toText());
            }
            if (!files.isEmpty()) {
                printer.println();
                files.values().forEach(written -> written.values().forEach(path -> printer.println("wrote " + path)));
            }
        }
        printer.flush();
        return 0;
    }

    /** A built-in profile by name, else a profile file; a file that cannot be read or parsed is bad input. */
    static DeviceProfile resolveProfile(String name) {
        DeviceProfile builtIn = DeviceProfile.builtIn(name);
        if (builtIn != null) {
            return builtIn;
        }
        Path path = Path.of(name);
        if (!Files.isRegularFile(path)) {
            throw new InputException("--profile " + name + ": no built-in profile of that name (a100, h100) and no "
                    + "such file; write one with 'tessera calibrate --out " + name + "'");
        }
        try {
            return DeviceProfile.read(path);
        } catch (IOException | IllegalArgumentException e) {
            throw new InputException("--profile " + name + ": " + e.getMessage());
        }
    }

    /** The chart and trace of every simulated outcome, by name and kind; a chart the JVM cannot draw is noted and skipped. */
    private Map<String, Map<String, Path>> write(List<Outcome> outcomes, PipelineSimulation simulation) {
        try {
            Files.createDirectories(out);
        } catch (IOException e) {
            throw new InputException("--out " + out + ": cannot create the folder (" + e.getMessage() + ")");
        }
        Map<String, Map<String, Path>> files = new LinkedHashMap<>();
        boolean chartFailed = false;
        for (Outcome outcome : outcomes) {
            if (!outcome.simulated()) {
                continue;
            }
            Map<String, Path> written = new LinkedHashMap<>();
            Path trace = out.resolve(outcome.name() + ".trace.json");
            Path png = out.resolve(outcome.name() + ".png");
            try {
                AtomicFiles.write(trace, outcome.report().toChromeTrace().getBytes(StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw new InputException("--out " + out + ": cannot write " + trace + " (" + e.getMessage() + ")");
            }
            if (!chartFailed) {
                String title = String.format(java.util.Locale.ROOT, "%s: %d stages, %d micro-batches, step time %s, "
                        + "bubble rate %.4f", outcome.name(), simulation.stages(), simulation.microBatches(),
                        StageTimes.format(outcome.report().stepTime()), outcome.report().bubbleRate());
                try {
                    GanttChart.write(png, title, outcome.schedule(), outcome.report());
                    written.put("gantt", png);
                } catch (IOException e) {
                    throw new InputException("--out " + out + ": cannot write " + png + " (" + e.getMessage() + ")");
                } catch (RuntimeException | LinkageError | java.awt.AWTError | InternalError e) {
                    chartFailed = true;
                    spec.commandLine().getErr().println("note: no Gantt charts drawn (" + e + "); install fonts for "
                            + "Java (Debian: fontconfig fonts-dejavu-core) to get them; the Chrome traces have the same timeline");
                }
            }
            written.put("trace", trace);
            files.put(outcome.name(), written);
        }
        return files;
    }
}
