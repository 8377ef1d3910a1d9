package dev.tessera.deploy.train;

import dev.tessera.api.DataSource;
import dev.tessera.api.Model;
import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.deploy.InputException;
import dev.tessera.deploy.checkpoint.Checkpoint;
import dev.tessera.deploy.checkpoint.CheckpointStore;
import dev.tessera.deploy.config.ParallelSettings;
import dev.tessera.deploy.config.RunConfig;
import dev.tessera.deploy.config.TrainSettings;
import dev.tessera.deploy.launch.ProcessJob;
import dev.tessera.deploy.plan.ParallelPlan;
import dev.tessera.deploy.plan.PipelineSetup;
import dev.tessera.deploy.run.LossChart;
import dev.tessera.deploy.run.MetricsLog;
import dev.tessera.deploy.run.Progress;
import dev.tessera.deploy.run.RunDirectory;
import dev.tessera.graph.DType;
import dev.tessera.graph.LogicalGraph;
import dev.tessera.graph.Tensor;
import dev.tessera.lowering.DistributedTraining;
import dev.tessera.lowering.PhysicalLowering;
import dev.tessera.runtime.trace.ChromeTraceWriter;
import dev.tessera.runtime.trace.TraceTimeline;
import dev.tessera.tensor.HostTensor;
import dev.tessera.worker.actors.ActorExecutorOptions;
import dev.tessera.worker.actors.ParallelExecutor;
import dev.tessera.worker.exec.ComputeThreads;
import dev.tessera.worker.exec.RegisterUse;
import dev.tessera.worker.exec.StepResult;
import dev.tessera.worker.exec.Traffic;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Trains a model on the actor runtime, on one device or laid out over {@code parallel.devices}
 * local devices (data, tensor and pipeline stages): builds the forward graph for one micro-batch, derives the
 * training graph, then runs {@code train.steps} iterations, each over batches
 * {@code step * micro_batches + j} of the model's data, in chunks of steps that end at each log,
 * eval and checkpoint point (one run of the actor runtime per chunk). It logs metrics, evaluates,
 * checkpoints, and writes the run directory's summary and loss chart.
 *
 * <p>Every input of an iteration (weights, optimizer state, iteration number, batch index) is in
 * a checkpoint, so a resumed run computes exactly the numbers an uninterrupted one would.
 */
public final class Trainer {
    private static final double MIB = 1024.0 * 1024.0;
    private final RunConfig config;
    private final TrainSettings settings;
    private final RunDirectory directory;
    private final Progress progress;
    /** The Chrome trace-event file {@code --trace} writes into the run directory. */
    public static final String TRACE_FILE = "trace.json";
    /** Most steps per run of the actor runtime, bounding the batches held at once. */
    private static final long MAX_CHUNK = 256;

    private final CheckpointStore checkpoints;
    private final boolean trace;
    private Prepared prepared;
    private boolean chartFailed;

    /**
     * What a run is built from before anything is written: the model, its training graph and
     * its layout over the devices (one or many; an auto search can take seconds, so it is done once).
     */
    public record Prepared(TrainingSetup setup, ParallelPlan plan) {
    }

    /**
     * Builds the model and its training graph and lays it out over {@code parallel.devices}.
     *
     * @throws InputException when the model or the layout cannot be built (conflicting hints)
     */
    public static Prepared prepare(RunConfig config) {
        TrainingSetup setup = TrainingSetup.from(config);
        ParallelPlan plan = ParallelPlan.of(config.modelType(), setup.model().describe(), setup.graph(),
                config.settings().batchSize(), config.parallel());
        return new Prepared(setup, plan);
    }

    public Trainer(RunConfig config, RunDirectory directory, Progress progress) {
        this(config, directory, progress, false);
    }

    /** @param trace record every action of every run and write {@link #TRACE_FILE} at the end */
    public Trainer(RunConfig config, RunDirectory directory, Progress progress, boolean trace) {
        this(config, null, directory, progress, trace);
    }

    /** @param prepared from {@link #prepare} with the same config, or null to prepare when training starts */
    public Trainer(RunConfig config, Prepared prepared, RunDirectory directory, Progress progress, boolean trace) {
        this.prepared = prepared;
        this.trace = trace;
        this.config = config;
        this.settings = config.settings();
        this.directory = directory;
        this.progress = progress;
        this.checkpoints = new CheckpointStore(directory.path(), settings.checkpointKeep());
    }

    /** Trains from freshly initialized weights; returns the summary written to {@code summary.json}. */
    public Map<String, Object> train() {
        return run(null);
    }

    /**
     * Continues from {@code checkpointFolder}, or from the run's newest checkpoint when null.
     *
     * @throws InputException when there is no checkpoint or it was written with another config
     * @throws dev.tessera.deploy.checkpoint.CorruptCheckpointException naming the bad file
     */
    public Map<String, Object> resume(Path checkpointFolder) {
        Path folder = checkpointFolder != null ? checkpointFolder : checkpoints.latest().orElseThrow(() ->
                new InputException("cannot resume " + directory.path() + ": it has no checkpoint (was checkpoint.every 0?)"));
        Checkpoint checkpoint = checkpoints.load(folder);
        if (!checkpoint.configHash().equals(config.trajectoryHash())) {
            throw new InputException("cannot resume from " + folder + ": it was written with a different config ("
                    + ConfigDifference.describe(directory.path().resolve(RunDirectory.CONFIG_FILE), config.config())
                    + "); resume with the run's own " + RunDirectory.CONFIG_FILE + ", or start a new run");
        }
        return run(checkpoint);
    }

    private Map<String, Object> run(Checkpoint resumeFrom) {
        if (prepared == null) {
            prepared = prepare(config);
        }
        TrainingSetup setup = prepared.setup();
        Model model = setup.model();
        LogicalGraph forward = setup.forward();
        TrainingGraph graph = setup.graph();
        Optimization optimization = setup.optimization();
        DataSource data = model.trainData(settings.seed(), settings.batchSize());

        RunDirectory.Lock claim = directory.lock();
        try {
            return run(resumeFrom, model, forward, graph, optimization, data);
        } finally {
            claim.release();
        }
    }

    private Map<String, Object> run(Checkpoint resumeFrom, Model model, LogicalGraph forward, TrainingGraph graph,
                                    Optimization optimization, DataSource data) {
        long tokensPerMicroBatch = tokensPerMicroBatch(forward);
        long firstStep = resumeFrom == null ? 0 : resumeFrom.step();
        directory.writeConfig(config.render(), model.describe());
        if (resumeFrom != null) {
            checkpoints.discardAfter(firstStep);
            MetricsLog.truncateAfter(directory.metricsFile(), firstStep);
        }
        List<LossChart.Point> curve = new ArrayList<>();
        for (Map<String, Object> line : MetricsLog.read(directory.metricsFile())) {
            if (line.get("loss") instanceof Number loss) {
                curve.add(new LossChart.Point(((Number) line.get("step")).longValue(), loss.doubleValue()));
            }
        }
        String chartTitle = config.modelType() + ": " + model.describe();

        long wallStart = System.nanoTime();
        long stepNanos = 0;
        Map<String, Double> finalMetrics = Map.of();
        List<Map<String, Object>> traffic = List.of();
        List<Map<String, Object>> registers = List.of();
        ComputeThreads.set(settings.threads());
        Optional<TraceTimeline> timeline = Optional.empty();
        try (TrainingBackend executor = executor(graph, data);
                MetricsLog metrics = new MetricsLog(directory.metricsFile())) {
            if (resumeFrom != null) {
                executor.restore(resumeFrom.parameters(), resumeFrom.optimizerState(), resumeFrom.step());
            }
            progress.start(firstStep, settings.steps());
            long windowNanos = 0;
            long windowSteps = 0;
            // The data position: step s reads batches s * micro_batches + j, and a checkpoint records where to go on.
            long nextBatch = resumeFrom == null ? 0 : resumeFrom.nextBatchIndex();
            for (long step = firstStep; step < settings.steps(); ) {
                // One run of the actor runtime per chunk of steps: up to the next log, eval or checkpoint point.
                long end = chunkEnd(step);
                int count = (int) (end - step);
                long firstBatch = nextBatch;
                List<List<Map<String, HostTensor>>> batches = executor.drawsOwnBatches() ? null : new ArrayList<>(count);
                double[] rates = new double[count];
                for (int i = 0; i < count; i++) {
                    if (batches == null) {
                        nextBatch += settings.microBatches();
                    } else {
                        List<Map<String, HostTensor>> microBatches = new ArrayList<>(settings.microBatches());
                        for (int j = 0; j < settings.microBatches(); j++) {
                            microBatches.add(data.batch(nextBatch++));
                        }
                        batches.add(microBatches);
                    }
                    rates[i] = optimization.schedule().at(step + i);
                }
                long t0 = System.nanoTime();
                List<StepResult> results = executor.run(firstBatch, batches, rates);
                long spent = System.nanoTime() - t0;
                stepNanos += spent;
                windowNanos += spent;
                windowSteps += count;
                for (int i = 0; i < count; i++) {
                    long done = step + i + 1;
                    StepResult result = results.get(i);
                    boolean logged = logged(done);
                    double samplesPerSecond = windowSteps * settings.examplesPerStep() / (windowNanos / 1e9);
                    double tokensPerSecond = windowSteps * tokensPerMicroBatch * settings.microBatches()
                            / (windowNanos / 1e9);
                    progress.step(done, result.loss(), samplesPerSecond, tokensPerSecond, logged);
                    // The chart shows every step of this session; steps before a resume come from the log.
                    curve.add(new LossChart.Point(done, result.loss()));
                    if (logged) {
                        Map<String, Object> line = new LinkedHashMap<>();
                        line.put("step", done);
                        line.put("loss", result.loss());
                        line.put("lr", rates[i]);
                        line.put("grad_norm", result.gradNorm());
                        line.put("samples_per_s", round(samplesPerSecond));
                        if (tokensPerMicroBatch > 0) {
                            line.put("tokens_per_s", round(tokensPerSecond));
                        }
                        line.put("elapsed_s", round((System.nanoTime() - wallStart) / 1e9));
                        metrics.append(line);
                        windowNanos = 0;
                        windowSteps = 0;
                    }
                }
                step = end;
                if (evaluates(end) && end != settings.steps()) {
                    evaluate(model, executor, end, wallStart, metrics);
                }
                if (checkpoints(end)) {
                    Path saved = checkpoints.save(new Checkpoint(end, settings.seed(), config.trajectoryHash(),
                            nextBatch, executor.parameters(), executor.optimizerState()));
                    drawChart(chartTitle, curve);
                    progress.note("checkpoint " + saved);
                }
            }
            finalMetrics = evaluate(model, executor, settings.steps(), wallStart, metrics);
            traffic = executor.traffic().map(t -> traffic(t, settings.steps() - firstStep)).orElse(List.of());
            registers = executor.registerUse().map(this::registers).orElse(List.of());
            timeline = trace ? executor.trace() : Optional.empty();
        } finally {
            progress.close();
        }
        timeline.ifPresent(this::writeTrace);
        drawChart(chartTitle, curve);
        Map<String, Object> summary = summary(curve, forward.parameterCount(), firstStep, stepNanos,
                tokensPerMicroBatch, (System.nanoTime() - wallStart) / 1e9, finalMetrics);
        if (!traffic.isEmpty()) {
            summary.put("bytes_sent_per_step", traffic);
        }
        if (!registers.isEmpty()) {
            summary.put("register_bytes_per_device", registers);
        }
        directory.writeSummary(summary);
        return summary;
    }

    /**
     * Redraws loss.png. Drawing needs the JVM's font support; a JDK without fonts must not lose
     * the run for want of a picture, so the failure is noted once and training goes on.
     */
    private void drawChart(String title, List<LossChart.Point> curve) {
        if (chartFailed) {
            return;
        }
        try {
            directory.writeLossChart(title, curve);
        } catch (RuntimeException | LinkageError | java.awt.AWTError | InternalError e) {
            chartFailed = true;
            progress.note("note: loss.png not drawn (" + e + "); install fonts for Java (Debian: fontconfig "
                    + "fonts-dejavu-core) to get it; metrics.jsonl has the same numbers");
        }
    }

    /** The end (exclusive) of the chunk of steps starting at {@code step}: a log, eval or checkpoint point. */
    private long chunkEnd(long step) {
        long end = step + 1;
        while (end < settings.steps() && end - step < MAX_CHUNK && !logged(end) && !evaluates(end) && !checkpoints(end)) {
            end++;
        }
        return end;
    }

    private boolean logged(long done) {
        return done == 1 || done % settings.logEvery() == 0 || done == settings.steps();
    }

    private boolean evaluates(long done) {
        return settings.evalEvery() > 0 && done % settings.evalEvery() == 0;
    }

    private boolean checkpoints(long done) {
        return settings.checkpointEvery() > 0 && done % settings.checkpointEvery() == 0;
    }

    /**
     * The graph laid out over the devices as {@code tessera plan} shows it (on one device, all of
     * it on 0:0), lowered and run on as many virtual devices: one path for one device and many.
     * With {@code parallel.processes} > 1 the same compiled plan runs in as many worker processes.
     */
    private TrainingBackend executor(TrainingGraph graph, DataSource data) {
        ParallelSettings parallel = config.parallel();
        int processes = config.processes().processes();
        if (parallel.devices() > 1) {
            progress.note("training on " + parallel.devices() + " devices (" + layout(parallel) + ")"
                    + (processes > 1 ? " in " + processes + " worker processes" : "")
                    + "; 'tessera plan' shows the layout");
        }
        DistributedTraining distributed = PhysicalLowering.lower(graph, prepared.plan().assignment());
        PipelineSetup modeled = PipelineSetup.of(prepared.plan(), distributed);
        boolean measure = modeled.autoOrigin().isPresent() && parallel.measuredStageTimes();
        PipelineSetup pipeline = measure
                ? modeled.withMeasuredStageTimes(prepared.plan(), StageTimeProbe.measure(distributed,
                        modeled.stageOfOp(), parallel.pipeline(), settings.microBatches(), data, settings.seed(),
                        executorOptions()))
                : modeled;
        pipeline.autoOrigin().ifPresent(origin -> progress.note("auto schedule: " + origin + (measure
                ? " (the fastest by the stage times two traced iterations of 1F1B measured)"
                : " (the fastest by the modeled stage costs)")));
        pipeline.schedule().ifPresent(schedule -> progress.note("every device follows the "
                + parallel.schedule().orElseThrow().configName() + " schedule over " + settings.microBatches()
                + " micro-batches:\n" + schedule.toText()));
        ActorExecutorOptions options = executorOptions()
                .withSchedule(pipeline.schedule().orElse(null), pipeline.stageOfOp());
        if (processes > 1) {
            return ProcessJob.start(config, distributed, options, directory.path(), progress::note);
        }
        return TrainingBackend.inThisProcess(new ParallelExecutor(distributed, settings.seed(), options));
    }

    /** E.g. {@code data 2 x tensor 1}, or with stages {@code pipeline 2 x data 1 x tensor 1}. */
    private static String layout(ParallelSettings parallel) {
        return (parallel.pipeline() > 1 ? "pipeline " + parallel.pipeline() + " x " : "") + "data " + parallel.data()
                + " x tensor " + parallel.tensor();
    }

    private ActorExecutorOptions executorOptions() {
        return ActorExecutorOptions.defaults().withSourceQuota(settings.sourcePrefetch()).withTrace(trace)
                .withGradientBucketBytes(config.parallel().gradientBucketBytes());
    }

    private void writeTrace(TraceTimeline timeline) {
        Path file = directory.path().resolve(TRACE_FILE);
        try {
            ChromeTraceWriter.write(timeline, file);
            progress.note("trace " + file + " (open it in ui.perfetto.dev or chrome://tracing)");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    private Map<String, Double> evaluate(Model model, TrainingBackend executor, long step, long wallStart,
                                         MetricsLog metrics) {
        Map<String, Double> results = model.evaluate(executor.inference(model));
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("step", step);
        line.putAll(results);
        line.put("elapsed_s", round((System.nanoTime() - wallStart) / 1e9));
        metrics.append(line);
        StringBuilder note = new StringBuilder("eval at step " + step + ":");
        results.forEach((name, value) -> note.append(String.format(java.util.Locale.ROOT, " %s %.4f", name, value)));
        progress.note(note.toString());
        return results;
    }

    /**
     * Per device, the register bytes in use at most (measured), the register buffers it held (reused
     * by liveness) and the plan's figure without reuse; noted once.
     */
    private List<Map<String, Object>> registers(RegisterUse use) {
        List<Map<String, Object>> devices = new ArrayList<>();
        StringBuilder note = new StringBuilder("registers per device (in use at most / held / the plan without reuse):");
        for (int d = 0; d < use.devices().size(); d++) {
            Map<String, Object> device = new LinkedHashMap<>();
            device.put("device", use.devices().get(d));
            device.put("peak_in_use", use.peakInUse()[d]);
            device.put("held", use.held()[d]);
            device.put("allocated", use.allocated()[d]);
            devices.add(device);
            note.append(String.format(java.util.Locale.ROOT, " %s %.2f / %.2f / %.2f MiB", use.devices().get(d),
                    use.peakInUse()[d] / MIB, use.held()[d] / MIB, use.allocated()[d] / MIB));
        }
        progress.note(note.toString());
        return devices;
    }

    /**
     * Per device, the bytes it sent to other devices per step as the runtime counted them over
     * this session's steps, next to the execution plan's figure ({@code tessera plan} prints the
     * same). The two agree (a test trains every layout family and checks it); a difference
     * would be a bug in the plan compiler or the runtime.
     */
    private static List<Map<String, Object>> traffic(Traffic traffic, long steps) {
        if (steps <= 0) {
            return List.of();
        }
        List<Map<String, Object>> devices = new ArrayList<>();
        for (int d = 0; d < traffic.devices().size(); d++) {
            Map<String, Object> device = new LinkedHashMap<>();
            device.put("device", traffic.devices().get(d));
            device.put("counted", traffic.sentSinceStart()[d] / (double) steps);
            device.put("planned", traffic.plannedPerIteration()[d]);
            devices.add(device);
        }
        return devices;
    }

    private Map<String, Object> summary(List<LossChart.Point> curve, long parameters, long firstStep, long stepNanos,
                                        long tokensPerMicroBatch, double wallSeconds, Map<String, Double> finalMetrics) {
        long stepsRun = settings.steps() - firstStep;
        double stepSeconds = Math.max(stepNanos, 1) / 1e9;
        Map<String, Object> summary = new LinkedHashMap<>();
        summary.put("model", config.modelType());
        summary.put("steps", settings.steps());
        summary.put("devices", config.parallel().devices());
        summary.put("layout", config.parallel().devices() > 1 ? layout(config.parallel()) : "single device");
        if (config.processes().processes() > 1) {
            summary.put("processes", config.processes().processes());
        }
        summary.put("initial_loss", curve.isEmpty() ? Double.NaN : curve.get(0).loss());
        summary.put("final_loss", curve.isEmpty() ? Double.NaN : curve.get(curve.size() - 1).loss());
        summary.put("samples_per_s", round(stepsRun * settings.examplesPerStep() / stepSeconds));
        if (tokensPerMicroBatch > 0) {
            summary.put("tokens_per_s", round(stepsRun * settings.microBatches() * tokensPerMicroBatch / stepSeconds));
        }
        summary.put("wall_s", round(wallSeconds));
        summary.put("parameters", parameters);
        if (firstStep > 0) {
            summary.put("resumed_from_step", firstStep);
        }
        summary.putAll(finalMetrics);
        return summary;
    }

    /**
     * Tokens in one micro-batch: the size of the first integer input of rank 2 or more (token ids
     * [batch, sequence]); 0 for models without one, which then report samples only.
     */
    static long tokensPerMicroBatch(LogicalGraph forward) {
        for (Tensor input : forward.inputs()) {
            if (input.dtype() == DType.I32 && input.shape().rank() >= 2) {
                return input.shape().size();
            }
        }
        return 0;
    }

    private static double round(double value) {
        return Math.round(value * 1000) / 1000.0;
    }
}
