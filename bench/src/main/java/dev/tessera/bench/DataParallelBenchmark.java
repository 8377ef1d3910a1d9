package dev.tessera.bench;

import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.examples.gpt.AdditionTask;
import dev.tessera.graph.Tensor;
import dev.tessera.lowering.DistributedTraining;
import dev.tessera.runtime.trace.Trace;
import dev.tessera.runtime.trace.TraceEvent;
import dev.tessera.sbp.NdSbp;
import dev.tessera.sbp.Placement;
import dev.tessera.sbp.Sbp;
import dev.tessera.sbp.infer.CostModel;
import dev.tessera.tensor.HostTensor;
import dev.tessera.worker.actors.ActorExecutorOptions;
import dev.tessera.worker.actors.ParallelExecutor;
import dev.tessera.worker.exec.ComputeThreads;
import dev.tessera.worker.exec.StepResult;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Data parallelism on virtual devices: the GPT of examples/configs/gpt-addition.conf (batch 64)
 * trained on one device ({@link ParallelExecutor#onOneDevice}, as {@code tessera train} runs it) against the same
 * global batch split over two devices ({@link ParallelExecutor}, batch inputs S(0), weight
 * gradients all-reduced), each device a thread with its own ND4J thread. Losses must agree to
 * 1e-5 before timing. The floor data parallelism should approach on this machine: two
 * independent one-device trainings of half the batch each, run at the same time (no
 * communication, no waiting for each other, but the same two threads sharing the machine).
 * Then one traced chunk on two devices shows where the time goes: per device, busy time by kind
 * of op (compute, collectives, transfers) and idle time.
 *
 * <p>Arguments: warm-up chunks (3), repeats (11), steps per chunk (20), GPT batch (64).
 */
public final class DataParallelBenchmark {
    private DataParallelBenchmark() {
    }

    public static void main(String[] args) {
        int warmup = argument(args, 0, 3);
        int repeats = argument(args, 1, 11);
        int chunk = argument(args, 2, 20);
        int batchSize = argument(args, 3, 64);
        ComputeThreads.set(1);
        AdditionTask task = new AdditionTask(3, 0, 1000);
        TrainingGraph graph = GptBench.trainingGraph(task, batchSize);
        TrainingGraph half = GptBench.trainingGraph(task, batchSize / 2);
        List<List<Map<String, HostTensor>>> batches = GptBench.steps(task, batchSize, chunk);
        List<List<Map<String, HostTensor>>> halfBatches = GptBench.steps(task, batchSize / 2, chunk);
        double[] rates = GptBench.rates(chunk);
        Map<Tensor, NdSbp> hints = new java.util.HashMap<>();
        for (Tensor input : graph.forward().inputs()) {
            hints.put(input, NdSbp.of(Sbp.split(0)));
        }
        DistributedTraining plan = DistributedTraining.plan(graph, Placement.onNode(0, 2), hints, CostModel.standard());
        long collectives = plan.physical().ops().stream()
                .filter(op -> op.def().getClass().getPackageName().equals("dev.tessera.collective")).count();
        System.out.println("GPT batch " + batchSize + ": " + graph.ops().size() + " logical ops; on 2 devices "
                + plan.physical().ops().size() + " physical ops, " + collectives + " of them collective parts, "
                + String.format(Locale.ROOT, "%.1f KiB", plan.assignment().totalBoxingBytes() / 1024)
                + " sent per iteration");
        try (ParallelExecutor single = ParallelExecutor.onOneDevice(graph, 1);
                ParallelExecutor parallel = new ParallelExecutor(plan, 1, ActorExecutorOptions.defaults());
                ParallelExecutor traced = new ParallelExecutor(plan, 1, ActorExecutorOptions.defaults().withTrace(true));
                ParallelExecutor halfA = ParallelExecutor.onOneDevice(half, 1);
                ParallelExecutor halfB = ParallelExecutor.onOneDevice(half, 2)) {
            ExecutorService pair = Executors.newFixedThreadPool(2);
            List<StepResult> expected = single.run(batches.subList(0, 3), Arrays.copyOf(rates, 3));
            List<StepResult> actual = parallel.run(batches.subList(0, 3), Arrays.copyOf(rates, 3));
            for (int i = 0; i < 3; i++) {
                double a = expected.get(i).loss();
                double b = actual.get(i).loss();
                if (Math.abs(a - b) > 1e-5 * Math.abs(a)) {
                    throw new IllegalStateException("step " + i + ": loss " + b + " on 2 devices, " + a + " on one");
                }
            }
            System.out.println("losses of the first 3 steps agree to 1e-5: " + expected.stream()
                    .map(r -> String.format(Locale.ROOT, "%.6f", r.loss())).toList());
            Harness harness = new Harness(warmup, repeats, 1);
            List<Harness.Result> results = harness.measure(List.of(
                    new Harness.Contender("1 device", () -> single.run(batches, rates)),
                    new Harness.Contender("2 devices, data parallel", () -> parallel.run(batches, rates)),
                    new Harness.Contender("floor: 2 x half batch, apart", () -> {
                        Future<?> a = pair.submit(() -> halfA.run(halfBatches, rates));
                        Future<?> b = pair.submit(() -> halfB.run(halfBatches, rates));
                        try {
                            a.get();
                            b.get();
                        } catch (InterruptedException | ExecutionException e) {
                            throw new IllegalStateException(e);
                        }
                    })));
            System.out.println(warmup + " warm-up chunks each, then " + repeats + " interleaved repeats of " + chunk
                    + " steps; ms per step:");
            for (Harness.Result result : results) {
                System.out.println(String.format(Locale.ROOT, "%-26s median %7.2f   min %7.2f   max %7.2f",
                        result.name(), result.median() / chunk, result.min() / chunk, result.max() / chunk));
            }
            System.out.println(String.format(Locale.ROOT, "speed-up of 2 devices: %.3f (median of back-to-back "
                    + "ratios; ratio of medians %.3f)", 1 / Harness.pairedRatio(results.get(1), results.get(0)),
                    results.get(0).median() / results.get(1).median()));
            System.out.println(String.format(Locale.ROOT, "speed-up of the floor: %.3f; data parallel / floor: %.3f "
                    + "(medians of back-to-back ratios)", 1 / Harness.pairedRatio(results.get(2), results.get(0)),
                    Harness.pairedRatio(results.get(1), results.get(2))));
            pair.shutdown();
            traced.run(batches, rates);
            breakdown(traced.lastTrace().orElseThrow(), chunk);
        }
    }

    /** Per device: busy milliseconds per step by kind of actor, and the rest of the run idle. */
    private static void breakdown(Trace trace, int steps) {
        List<TraceEvent> events = trace.events();
        long start = events.stream().mapToLong(TraceEvent::startNanos).min().orElse(0);
        long end = events.stream().mapToLong(TraceEvent::endNanos).max().orElse(0);
        Map<Integer, Map<String, Long>> byDevice = new TreeMap<>();
        for (TraceEvent e : events) {
            byDevice.computeIfAbsent(e.actor().device(), d -> new TreeMap<>()).merge(kind(e), e.durationNanos(), Long::sum);
        }
        System.out.println(String.format(Locale.ROOT, "traced chunk: %.2f ms per step from first to last action",
                (end - start) / 1e6 / steps));
        byDevice.forEach((device, kinds) -> {
            long busy = kinds.values().stream().mapToLong(Long::longValue).sum();
            StringBuilder line = new StringBuilder("  cpu:" + device + " ms per step:");
            kinds.forEach((kind, nanos) -> line.append(String.format(Locale.ROOT, " %s %.2f,", kind, nanos / 1e6 / steps)));
            line.append(String.format(Locale.ROOT, " idle %.2f", (end - start - busy) / 1e6 / steps));
            System.out.println(line);
        });
    }

    private static String kind(TraceEvent e) {
        String op = e.actor().op();
        return switch (op) {
            case "all_reduce", "reduce_scatter", "all_gather", "all_to_all", "send_copy", "region_slice",
                    "region_join" -> "collectives";
            case "local_slice", "zero_fill", "zero_pad" -> "local conversions";
            case "Transfer" -> "transfers";
            case "Source", "LossSink", "GradNormSink" -> "sources and sinks";
            default -> "compute";
        };
    }

    private static int argument(String[] args, int index, int fallback) {
        return args.length > index ? Integer.parseInt(args[index]) : fallback;
    }
}
