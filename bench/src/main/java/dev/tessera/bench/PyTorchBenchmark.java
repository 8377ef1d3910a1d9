package dev.tessera.bench;

import dev.tessera.tensor.HostTensor;
import dev.tessera.worker.actors.ActorExecutorOptions;
import dev.tessera.worker.actors.ParallelExecutor;
import dev.tessera.worker.exec.ComputeThreads;
import dev.tessera.worker.exec.StepResult;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Tessera against PyTorch's eager CPU training on the same models, weights, data and thread
 * count (issue 12): the MLP of mlp-fashion.conf, the GPT of gpt-addition.conf, and a GPT of 4
 * layers, d_model 256, 8 heads, T 128 on gpt-text.conf's task. Tessera trains as
 * {@code tessera train} does on one device: the actor executor, one run of the actor runtime per chunk
 * of steps, the example's data source called for every batch inside the timed chunk. PyTorch
 * (bench/pytorch/torch_steps.py, a child process) trains the same model from the same initial
 * parameters, cycling a few of the same batches from memory. Both first print their first
 * losses on the same batches, then repeats of the two alternate (see {@link Harness}); the
 * figures are samples per second and the median of the back-to-back ratios Tessera / PyTorch
 * of samples per second (above 1 means Tessera is faster).
 *
 * <p>Arguments: the Python with torch and numpy (bench/pytorch/run.sh makes one), then optionally
 * threads (1), repeats (7), the models (mlp,gpt-addition,gpt-text) and the text file of
 * gpt-text (/usr/share/common-licenses/GPL-3, as gpt-text.conf).
 */
public final class PyTorchBenchmark {
    private static final int EXPORTED_BATCHES = 8;
    private static final int CHECKED_STEPS = 3;

    private PyTorchBenchmark() {
    }

    public static void main(String[] args) throws IOException {
        boolean profile = Arrays.asList(args).contains("--profile");
        args = Arrays.stream(args).filter(a -> !a.equals("--profile")).toArray(String[]::new);
        if (args.length < 1) {
            System.err.println("usage: PyTorchBenchmark PYTHON [threads] [repeats] [models] [text file] [--profile]");
            System.exit(2);
        }
        String python = args[0];
        int threads = args.length > 1 ? Integer.parseInt(args[1]) : 1;
        int repeats = args.length > 2 ? Integer.parseInt(args[2]) : 7;
        List<String> models = Arrays.asList((args.length > 3 ? args[3] : "mlp,gpt-addition,gpt-text").split(","));
        Path textFile = Path.of(args.length > 4 ? args[4] : "/usr/share/common-licenses/GPL-3");
        ComputeThreads.set(threads);
        System.out.println("Tessera against PyTorch: " + Runtime.getRuntime().availableProcessors()
                + " processors, " + threads + " thread(s) each, " + repeats + " alternating repeats per model, Java "
                + System.getProperty("java.version") + ", ND4J " + Nd4j.getBackend().getClass().getSimpleName());
        Path exports = Files.createTempDirectory("tessera-pytorch-bench");
        List<String> summary = new ArrayList<>();
        try (PyTorchProcess torch = new PyTorchProcess(python, threads)) {
            for (String model : models) {
                PyTorchWorkload workload = PyTorchWorkload.named(model, textFile);
                summary.add(compare(workload, torch, exports.resolve(model), repeats));
                if (profile) {
                    profile(workload, 2 * stepsPerRepeat(model));
                }
            }
        } finally {
            try (Stream<Path> files = Files.walk(exports)) {
                files.sorted(Comparator.reverseOrder()).forEach(PyTorchBenchmark::delete);
            }
        }
        System.out.println("Summary (samples/s, Tessera / PyTorch as median of back-to-back ratios; target >= 1.00):");
        summary.forEach(System.out::println);
    }

    private static String compare(PyTorchWorkload workload, PyTorchProcess torch, Path folder, int repeats) {
        System.out.println();
        System.out.println(workload.name() + ": " + workload.description());
        int chunk = stepsPerRepeat(workload.name());
        try (ParallelExecutor tessera = ParallelExecutor.onOneDevice(workload.graph(), 1)) {
            workload.export(folder, tessera.parameters(), EXPORTED_BATCHES);
            System.out.println("PyTorch " + torch.load(folder));
            TesseraTimer timer = new TesseraTimer(tessera, workload);
            double[] ours = timer.losses(CHECKED_STEPS);
            double[] theirs = torch.losses(CHECKED_STEPS);
            System.out.println("first losses, Tessera " + PyTorchProcess.describe(ours) + ", PyTorch "
                    + PyTorchProcess.describe(theirs));
            Harness harness = new Harness(chunk, repeats, chunk);
            System.out.println(harness + " (one run of the actor runtime per repeat)");
            List<Harness.Result> results = harness.measure(List.of(
                    new Harness.Contender("Tessera (actor executor)", timer::nanos),
                    new Harness.Contender("PyTorch eager", torch::steps)));
            results.forEach(System.out::println);
            double tesseraRate = samplesPerSecond(workload, results.get(0).median());
            double torchRate = samplesPerSecond(workload, results.get(1).median());
            // Samples per second are inverse to the step time, so the ratio of rates is PyTorch's time over Tessera's.
            double ratio = 1 / Harness.pairedRatio(results.get(0), results.get(1));
            String line = String.format("  %-13s Tessera %9.1f samples/s   PyTorch %9.1f samples/s   Tessera / PyTorch "
                    + "%.2f (ratio of medians %.2f)", workload.name(), tesseraRate, torchRate, ratio,
                    tesseraRate / torchRate);
            System.out.println(line);
            // Resident memory covers the heap and ND4J's off-heap buffers alike.
            System.out.println(String.format("  peak memory so far: Tessera's JVM %s resident (heap in use now %s), "
                    + "PyTorch's process %s resident", mib(peakResidentBytes()), mib(heapInUse()),
                    mib(torch.peakResidentBytes())));
            return line;
        }
    }

    /**
     * After the timed repeats, so the timers cannot disturb them: {@code steps} more steps on a
     * fresh actor executor whose kernels sum their wall and CPU time per op type (matrix products
     * per shape), beside the whole step's time.
     */
    private static void profile(PyTorchWorkload workload, int steps) {
        KernelProfile profile = new KernelProfile();
        ActorExecutorOptions options = ActorExecutorOptions.defaults().withKernels(profile.registry(workload.graph()));
        try (ParallelExecutor tessera = ParallelExecutor.onOneDevice(workload.graph(), 1, options)) {
            TesseraTimer timer = new TesseraTimer(tessera, workload);
            timer.nanos(steps);
            profile.reset();
            long nanos = timer.nanos(steps);
            System.out.print("Where a Tessera " + workload.name() + " step spends its time on the actor executor ("
                    + steps + " steps, kernel wall time, and CPU time, by op type):\n" + profile.report(steps));
            System.out.printf("  %-44s %8.2f ms/step%n", "whole step", nanos / 1e6 / steps);
        }
    }

    /** As many steps per repeat as the config's trainer runs between logs, fewer for the large GPT. */
    private static int stepsPerRepeat(String model) {
        return switch (model) {
            case "mlp" -> 100;
            case "gpt-addition" -> 50;
            default -> 5;
        };
    }

    /** This JVM's peak resident set size (VmHWM of /proc/self/status), in bytes; -1 where there is none. */
    private static long peakResidentBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }

    private static long heapInUse() {
        MemoryUsage heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
        return heap.getUsed();
    }

    private static String mib(long bytes) {
        return bytes < 0 ? "unknown" : String.format("%.0f MiB", bytes / 1048576.0);
    }

    private static double samplesPerSecond(PyTorchWorkload workload, double millisPerStep) {
        return workload.batchSize() * 1000.0 / millisPerStep;
    }

    private static void delete(Path path) {
        try {
            Files.delete(path);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Tessera's side of a repeat: the data source's batches and one run of the actor runtime, as the trainer does them. */
    private static final class TesseraTimer {
        private final ParallelExecutor executor;
        private final PyTorchWorkload workload;
        private long nextBatch;

        TesseraTimer(ParallelExecutor executor, PyTorchWorkload workload) {
            this.executor = executor;
            this.workload = workload;
        }

        long nanos(int steps) {
            long start = System.nanoTime();
            run(steps);
            return System.nanoTime() - start;
        }

        double[] losses(int steps) {
            return run(steps).stream().mapToDouble(StepResult::loss).toArray();
        }

        private List<StepResult> run(int steps) {
            List<List<Map<String, HostTensor>>> batches = new ArrayList<>(steps);
            for (int i = 0; i < steps; i++) {
                batches.add(List.of(workload.data().batch(nextBatch++)));
            }
            double[] rates = new double[steps];
            Arrays.fill(rates, workload.learningRate());
            return executor.run(batches, rates);
        }
    }
}
