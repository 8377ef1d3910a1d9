package dev.tessera.bench;

import dev.tessera.worker.exec.ComputeThreads;
import java.util.List;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Times one training step of the two example models against their floors, in one run:
 * the MLP in Tessera against DL4J's MultiLayerNetwork, and the GPT in Tessera against the same
 * math written by hand with ND4J. Prints the median and spread of each, and the two ratios
 * Tessera / floor (below 1 means Tessera is faster): the median of the ratios of back-to-back
 * repeats, which a busy shared machine disturbs least, and the ratio of the medians.
 *
 * <p>Arguments (all optional): warm-up steps, repeats, steps per repeat, MLP batch, GPT batch,
 * ND4J threads (1, like the trainer's {@code runtime.threads} default; it applies to every
 * contender, since ND4J's thread setting is per process).
 */
public final class StepBenchmark {
    private StepBenchmark() {
    }

    public static void main(String[] args) {
        int warmup = intArgument(args, 0, 30);
        int repeats = intArgument(args, 1, 31);
        int stepsPerRepeat = intArgument(args, 2, 3);
        int mlpBatch = intArgument(args, 3, 128);
        int gptBatch = intArgument(args, 4, 64);
        int threads = intArgument(args, 5, 1);
        ComputeThreads.set(threads);
        Harness harness = new Harness(warmup, repeats, stepsPerRepeat);
        System.out.println("Tessera step benchmark: " + harness + "; " + Runtime.getRuntime().availableProcessors()
                + " processors, ND4J threads " + threads + ", Java " + System.getProperty("java.version")
                + ", ND4J backend " + Nd4j.getBackend().getClass().getSimpleName());

        List<Harness.Result> mlp;
        try (MlpBench bench = new MlpBench(mlpBatch)) {
            System.out.println(bench.describe());
            System.out.println(bench.sanityCheck(3));
            mlp = harness.measure(List.of(
                    new Harness.Contender("Tessera (reference executor)", bench::tesseraStep),
                    new Harness.Contender("DL4J MultiLayerNetwork.fit", bench::dl4jStep)));
        }
        mlp.forEach(System.out::println);

        List<Harness.Result> gpt;
        try (GptBench bench = new GptBench(gptBatch, null)) {
            System.out.println(bench.describe());
            System.out.println(bench.sanityCheck(3));
            gpt = harness.measure(List.of(
                    new Harness.Contender("Tessera (reference executor)", bench::tesseraStep),
                    new Harness.Contender("hand-written ND4J", bench::handWrittenStep)));
        }
        gpt.forEach(System.out::println);

        System.out.printf("ratio MLP Tessera / DL4J:              %.2f (ratio of medians %.2f; target <= 1.00)%n",
                Harness.pairedRatio(mlp.get(0), mlp.get(1)), mlp.get(0).median() / mlp.get(1).median());
        System.out.printf("ratio GPT Tessera / hand-written ND4J: %.2f (ratio of medians %.2f; target <= 1.10)%n",
                Harness.pairedRatio(gpt.get(0), gpt.get(1)), gpt.get(0).median() / gpt.get(1).median());

        // After the timed runs, so the timers cannot disturb them.
        KernelProfile profile = new KernelProfile();
        try (GptBench bench = new GptBench(gptBatch, profile)) {
            for (int i = 0; i < warmup; i++) {
                bench.tesseraStep();
            }
            profile.reset();
            int steps = 3 * stepsPerRepeat;
            for (int i = 0; i < steps; i++) {
                bench.tesseraStep();
            }
            System.out.print("Where a Tessera GPT step spends its time (kernel wall time by op type, " + steps
                    + " steps):\n" + profile.report(steps));
        }
    }

    private static int intArgument(String[] args, int index, int fallback) {
        return args.length > index ? Integer.parseInt(args[index]) : fallback;
    }
}
