package dev.tessera.bench;

import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.examples.gpt.AdditionTask;
import dev.tessera.tensor.HostTensor;
import dev.tessera.worker.actors.ParallelExecutor;
import dev.tessera.worker.exec.ComputeThreads;
import dev.tessera.worker.exec.ReferenceExecutor;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The GPT step of examples/configs/gpt-addition.conf on the actor runtime (one device, as
 * {@code tessera train} runs it) against the reference executor, from the same weights on the
 * same batches. The trainer runs the steps between two log points in one run of the actor
 * runtime, so the actors are timed on chunks of {@code chunk} steps per run, and also on one
 * step per run (what starting and ending a run costs; the runtime keeps its actor system and
 * device threads between runs). Losses must agree exactly before timing.
 *
 * <p>Arguments: warm-up chunks (5), repeats (15), steps per chunk (50, the config's log_every),
 * GPT batch (64), ND4J threads (1).
 */
public final class ActorStepBenchmark {
    private ActorStepBenchmark() {
    }

    public static void main(String[] args) {
        int warmup = argument(args, 0, 5);
        int repeats = argument(args, 1, 15);
        int chunk = argument(args, 2, 50);
        int batchSize = argument(args, 3, 64);
        ComputeThreads.set(argument(args, 4, 1));
        AdditionTask task = new AdditionTask(3, 0, 1000);
        TrainingGraph graph = GptBench.trainingGraph(task, batchSize);
        List<List<Map<String, HostTensor>>> batches = GptBench.steps(task, batchSize, chunk);
        double[] rates = GptBench.rates(chunk);
        try (ReferenceExecutor reference = new ReferenceExecutor(graph, 1);
                ParallelExecutor actors = ParallelExecutor.onOneDevice(graph, 1);
                ParallelExecutor singleSteps = ParallelExecutor.onOneDevice(graph, 1)) {
            double[] expected = new double[3];
            for (int i = 0; i < 3; i++) {
                expected[i] = reference.step(batches.get(i), rates[i]).loss();
            }
            double[] actual = actors.run(batches.subList(0, 3), Arrays.copyOf(rates, 3)).stream()
                    .mapToDouble(r -> r.loss()).toArray();
            if (!Arrays.equals(expected, actual)) {
                throw new IllegalStateException("actor losses " + Arrays.toString(actual)
                        + " differ from the reference's "
                        + Arrays.toString(expected));
            }
            System.out.println("GPT batch " + batchSize + ", actor losses of the first 3 steps equal the reference's: "
                    + Arrays.toString(actual));
            System.out.println(graph.ops().size() + " ops, " + actors.plan().actors().size() + " actors");
            Harness harness = new Harness(warmup, repeats, 1);
            List<Harness.Result> results = harness.measure(List.of(
                    new Harness.Contender("reference executor", () -> {
                        for (int i = 0; i < chunk; i++) {
                            reference.step(batches.get(i), rates[i]);
                        }
                    }),
                    new Harness.Contender("actors, " + chunk + " steps per run", () -> actors.run(batches, rates)),
                    new Harness.Contender("actors, 1 step per run", () -> {
                        for (int i = 0; i < chunk; i++) {
                            singleSteps.step(batches.get(i), rates[i]);
                        }
                    })));
            System.out.println(warmup + " warm-up chunks each, then " + repeats
                    + " interleaved repeats of one chunk of " + chunk + " steps; ms per step:");
            for (Harness.Result result : results) {
                System.out.println(String.format(Locale.ROOT, "%-30s median %7.2f   min %7.2f   max %7.2f",
                        result.name(), result.median() / chunk, result.min() / chunk, result.max() / chunk));
            }
            System.out.println(String.format(Locale.ROOT, "actors (%d steps per run) / reference: %.3f "
                    + "(median of back-to-back ratios; ratio of medians %.3f)", chunk,
                    Harness.pairedRatio(results.get(1), results.get(0)),
                    results.get(1).median() / results.get(0).median()));
            System.out.println(String.format(Locale.ROOT, "actors (1 step per run) / reference: %.3f",
                    Harness.pairedRatio(results.get(2), results.get(0))));
        }
    }

    private static int argument(String[] args, int index, int fallback) {
        return args.length > index ? Integer.parseInt(args[index]) : fallback;
    }
}
