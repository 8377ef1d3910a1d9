package dev.tessera.bench;

import dev.tessera.api.DataSource;
import dev.tessera.deploy.config.ConfigLoader;
import dev.tessera.deploy.config.ModelRegistry;
import dev.tessera.deploy.config.RunConfig;
import dev.tessera.deploy.launch.ProcessJob;
import dev.tessera.deploy.plan.PipelineSetup;
import dev.tessera.deploy.train.Trainer;
import dev.tessera.lowering.DistributedTraining;
import dev.tessera.lowering.PhysicalLowering;
import dev.tessera.tensor.HostTensor;
import dev.tessera.worker.actors.ActorExecutorOptions;
import dev.tessera.worker.actors.ParallelExecutor;
import dev.tessera.worker.exec.ComputeThreads;
import dev.tessera.worker.exec.StepResult;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Multi-process against virtual-device training of the same plan: a config of
 * examples/configs/gpt-addition.conf laid out over 2 devices, run (a) on 2 virtual devices in this
 * JVM ({@link ParallelExecutor}, as {@code tessera train} runs it) and (b) as 2 worker OS
 * processes coordinated from this JVM ({@link ProcessJob}, as {@code tessera launch --nproc 2}
 * runs it: Aeron IPC between the workers, the control channel to this JVM once per chunk of
 * steps). Both are built from the same compiled plan and start from the same weights; their
 * losses over the first steps must be equal bit for bit before anything is timed. Each timed
 * chunk of steps includes drawing its batches (the workers draw their own), and the repeats of
 * the two alternate, so the ratio of each back-to-back pair cancels the machine's slow phases.
 *
 * <p>Arguments: warm-up steps (20), repeats (7), steps per repeat (20), the workers'
 * {@code transport.aeron.idle-strategy} (backoff, the default).
 */
public final class MultiProcessBenchmark {
    private static final double LEARNING_RATE = 1e-3;

    private MultiProcessBenchmark() {
    }

    public static void main(String[] args) throws IOException {
        int warmup = argument(args, 0, 20);
        int repeats = argument(args, 1, 7);
        int steps = argument(args, 2, 20);
        String idle = args.length > 3 ? args[3] : "backoff";
        Path config = Path.of("examples/configs/gpt-addition.conf");
        Harness harness = new Harness(warmup, repeats, steps);
        System.out.println("load average at start: " + loadAverage() + "; " + harness + "; workers' idle strategy "
                + idle);
        String idleStrategy = "transport.aeron.idle-strategy=" + idle;
        compare(harness, config, "GPT addition, data parallel on 2 devices", "parallel={devices=2,data=2}", idleStrategy);
        compare(harness, config, "GPT addition, 2 pipeline stages, 1F1B, 4 micro-batches",
                "parallel={devices=2,pipeline=2,schedule=1f1b,stages={\"block1.\"=1,\"ln_final.\"=1,\"head.\"=1}}",
                "train.micro_batches=4", "train.batch_size=16", idleStrategy);
        System.out.println("load average at end: " + loadAverage());
    }

    private static void compare(Harness harness, Path file, String name, String... overrides) throws IOException {
        List<String> all = new ArrayList<>(List.of(overrides));
        all.add("parallel.processes=2");
        RunConfig config = new ConfigLoader(ModelRegistry.fromClassPath()).load(file, all);
        ComputeThreads.set(config.settings().threads());
        Trainer.Prepared prepared = Trainer.prepare(config);
        DistributedTraining distributed = PhysicalLowering.lower(prepared.setup().graph(), prepared.plan().assignment());
        PipelineSetup pipeline = PipelineSetup.of(prepared.plan(), distributed);
        ActorExecutorOptions options = ActorExecutorOptions.defaults().withSourceQuota(config.settings().sourcePrefetch())
                .withSchedule(pipeline.schedule().orElse(null), pipeline.stageOfOp());
        DataSource data = prepared.setup().model().trainData(config.settings().seed(), config.settings().batchSize());
        int microBatches = config.settings().microBatches();
        Path logs = Files.createTempDirectory("tessera-bench-processes");
        try (ParallelExecutor virtual = new ParallelExecutor(distributed, config.settings().seed(), options);
                ProcessJob processes = ProcessJob.start(config, distributed, options, logs, note -> { })) {
            long[] nextVirtual = {0};
            long[] nextProcesses = {0};
            List<StepResult> expected = virtual.run(batches(data, nextVirtual, 3, microBatches), rates(3));
            List<StepResult> actual = processes.run(nextProcesses[0], null, rates(3));
            nextProcesses[0] += 3L * microBatches;
            if (!expected.equals(actual)) {
                throw new IllegalStateException(name + ": the processes' first losses " + actual
                        + " differ from the virtual devices' " + expected);
            }
            List<Harness.Result> results = harness.measure(List.of(
                    new Harness.Contender("2 virtual devices, one JVM", n -> {
                        long start = System.nanoTime();
                        virtual.run(batches(data, nextVirtual, n, microBatches), rates(n));
                        return System.nanoTime() - start;
                    }),
                    new Harness.Contender("2 worker processes, Aeron IPC", n -> {
                        long start = System.nanoTime();
                        processes.run(nextProcesses[0], null, rates(n));
                        nextProcesses[0] += (long) n * microBatches;
                        return System.nanoTime() - start;
                    })));
            System.out.println(name + " (" + distributed.physical().ops().size() + " physical ops; first 3 losses "
                    + "equal bit for bit):");
            results.forEach(r -> System.out.println("  " + r));
            System.out.printf(Locale.ROOT, "  processes / virtual devices, time per step: %.3f (median of paired "
                    + "repeats)%n", Harness.pairedRatio(results.get(1), results.get(0)));
        }
    }

    private static List<List<Map<String, HostTensor>>> batches(DataSource data, long[] next, int steps,
                                                               int microBatches) {
        List<List<Map<String, HostTensor>>> out = new ArrayList<>(steps);
        for (int s = 0; s < steps; s++) {
            List<Map<String, HostTensor>> step = new ArrayList<>(microBatches);
            for (int m = 0; m < microBatches; m++) {
                step.add(data.batch(next[0]++));
            }
            out.add(step);
        }
        return out;
    }

    private static double[] rates(int steps) {
        double[] rates = new double[steps];
        Arrays.fill(rates, LEARNING_RATE);
        return rates;
    }

    private static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).trim();
        } catch (IOException e) {
            return "unknown";
        }
    }

    private static int argument(String[] args, int index, int fallback) {
        return args.length > index ? Integer.parseInt(args[index]) : fallback;
    }
}
