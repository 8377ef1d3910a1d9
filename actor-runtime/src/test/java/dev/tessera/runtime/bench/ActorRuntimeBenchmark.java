package dev.tessera.runtime.bench;

import dev.tessera.runtime.ActorRuntime;
import dev.tessera.runtime.RunOptions;
import dev.tessera.runtime.RunResult;
import dev.tessera.runtime.plan.ActorKind;
import dev.tessera.runtime.plan.Plan;
import dev.tessera.runtime.plan.PlanBuilder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Dispatch overhead of the actor runtime with empty actions, and register-message throughput,
 * on a chain and a fan-out graph on one and two devices, beside a bare Pekko ping-pong as the
 * floor. Every contender is warmed up, then the repeats of all contenders alternate and the
 * medians are printed. Run it as docs/performance.md says (section "Actor runtime").
 *
 * <p>Arguments: steps per run (20000), repeats (7), warm-up runs (3), dispatcher throughput (5).
 */
public final class ActorRuntimeBenchmark {
    private ActorRuntimeBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        int steps = args.length > 0 ? Integer.parseInt(args[0]) : 20_000;
        int repeats = args.length > 1 ? Integer.parseInt(args[1]) : 7;
        int warmups = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        int throughput = args.length > 3 ? Integer.parseInt(args[3]) : 5;
        System.out.printf(Locale.ROOT, "steps per run %d, repeats %d, warm-up runs %d, dispatcher throughput %d, "
                + "%d cores, %s%n", steps, repeats, warmups, throughput, Runtime.getRuntime().availableProcessors(),
                System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));

        Map<String, Plan> plans = new LinkedHashMap<>();
        plans.put("chain of 10, 1 device", chain(10, 1));
        plans.put("chain of 10, 2 devices", chain(10, 2));
        plans.put("fan-out 1->8->1, 1 device", fanOut(8, 1));
        plans.put("fan-out 1->8->1, 2 devices", fanOut(8, 2));
        ActorRuntime runtime = ActorRuntime.inProcess();
        RunOptions options = new RunOptions(1, steps, false, throughput);
        String traced = "chain of 10, 1 device, traced";
        int pingPongTrips = steps * 10;

        for (int warmup = 0; warmup < warmups; warmup++) {
            PingPong.nanosPerMessage(pingPongTrips, false, throughput);
            PingPong.nanosPerMessage(pingPongTrips, true, throughput);
            for (Plan plan : plans.values()) {
                runtime.run(plan, spec -> context -> { }, options);
            }
            runtime.run(plans.get("chain of 10, 1 device"), spec -> context -> { }, options.withTrace(true));
        }
        Map<String, double[]> nanosPerMessage = new LinkedHashMap<>();
        Map<String, double[]> nanosPerAction = new LinkedHashMap<>();
        for (int repeat = 0; repeat < repeats; repeat++) {
            record(nanosPerMessage, "ping-pong, 1 thread", repeat, repeats,
                    PingPong.nanosPerMessage(pingPongTrips, false, throughput));
            record(nanosPerMessage, "ping-pong, 2 threads", repeat, repeats,
                    PingPong.nanosPerMessage(pingPongTrips, true, throughput));
            for (Map.Entry<String, Plan> entry : plans.entrySet()) {
                Plan plan = entry.getValue();
                RunResult result = runtime.run(plan, spec -> context -> { }, options);
                record(nanosPerMessage, entry.getKey(), repeat, repeats,
                        (double) result.runNanos() / ((long) steps * registerMessagesPerStep(plan)));
                record(nanosPerAction, entry.getKey(), repeat, repeats,
                        (double) result.runNanos() * plan.devices().size() / result.actions());
            }
            Plan chain = plans.get("chain of 10, 1 device");
            RunResult result = runtime.run(chain, spec -> context -> { }, options.withTrace(true));
            record(nanosPerMessage, traced, repeat, repeats,
                    (double) result.runNanos() / ((long) steps * registerMessagesPerStep(chain)));
            record(nanosPerAction, traced, repeat, repeats, (double) result.runNanos() / result.actions());
        }

        runtime.close();
        System.out.println();
        System.out.printf(Locale.ROOT, "%-30s %14s %16s %22s%n", "contender", "messages/s", "ns per message",
                "ns per action x device");
        for (Map.Entry<String, double[]> entry : nanosPerMessage.entrySet()) {
            double perMessage = median(entry.getValue());
            double[] perAction = nanosPerAction.get(entry.getKey());
            System.out.printf(Locale.ROOT, "%-30s %14s %16.0f %22s%n", entry.getKey(),
                    String.format(Locale.ROOT, "%,.0f", 1e9 / perMessage), perMessage,
                    perAction == null ? "-" : String.format(Locale.ROOT, "%.0f", median(perAction)));
        }
        System.out.println();
        System.out.println("messages: ready + ack per input edge per step (end-of-stream and start not counted);");
        System.out.println("ns per action x device: run time x devices / actions, the cost of one empty action");
        System.out.println("on its device thread including its share of message handling; medians over repeats.");
    }

    private static void record(Map<String, double[]> into, String name, int repeat, int repeats, double value) {
        into.computeIfAbsent(name, key -> new double[repeats])[repeat] = value;
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    /** Every input edge carries a ready and an ack per step. */
    static long registerMessagesPerStep(Plan plan) {
        return 2L * plan.actors().stream().mapToInt(actor -> actor.inputs().size()).sum();
    }

    /**
     * source, compute..., sink: {@code length} actors, quota 2; on two devices the second half
     * runs on cpu:1 behind a transfer actor (counted in the length).
     */
    static Plan chain(int length, int devices) {
        PlanBuilder plan = new PlanBuilder();
        for (int device = 0; device < devices; device++) {
            plan.device("cpu:" + device);
        }
        int previous = plan.actor("source", "Source", 0).kind(ActorKind.SOURCE).output(2).add();
        for (int index = 1; index < length - 1; index++) {
            int device = devices == 2 && index >= length / 2 ? 1 : 0;
            boolean crossing = devices == 2 && index == length / 2;
            previous = plan.actor("stage" + index, crossing ? "Transfer" : "Noop", device)
                    .kind(crossing ? ActorKind.TRANSFER : ActorKind.COMPUTE).input(previous, 0).output(2).add();
        }
        plan.actor("sink", "Sink", devices - 1).kind(ActorKind.SINK).input(previous, 0).add();
        return plan.build();
    }

    /**
     * A source read by {@code width} actors, all read by one join; quota 2. On two devices
     * the source's output also goes through a transfer to cpu:1, where half of the branches
     * and a second join run.
     */
    static Plan fanOut(int width, int devices) {
        PlanBuilder plan = new PlanBuilder();
        for (int device = 0; device < devices; device++) {
            plan.device("cpu:" + device);
        }
        int source = plan.actor("source", "Source", 0).kind(ActorKind.SOURCE).output(2).add();
        int remote = devices == 2
                ? plan.actor("transfer", "Transfer", 1).kind(ActorKind.TRANSFER).input(source, 0).output(2).add()
                : -1;
        List<List<Integer>> branches = new ArrayList<>();
        for (int device = 0; device < devices; device++) {
            branches.add(new ArrayList<>());
        }
        for (int branch = 0; branch < width; branch++) {
            int device = devices == 2 && branch >= width / 2 ? 1 : 0;
            int input = device == 0 ? source : remote;
            branches.get(device).add(plan.actor("branch" + branch, "Noop", device).input(input, 0).output(2).add());
        }
        for (int device = 0; device < devices; device++) {
            PlanBuilder.ActorBuilder join = plan.actor("join" + device, "Join", device).kind(ActorKind.SINK);
            branches.get(device).forEach(branch -> join.input(branch, 0));
            join.add();
        }
        return plan.build();
    }
}
