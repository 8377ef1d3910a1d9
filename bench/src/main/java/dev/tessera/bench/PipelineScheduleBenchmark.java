package dev.tessera.bench;

import dev.tessera.api.ModelGraph;
import dev.tessera.autodiff.Autodiff;
import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.autodiff.TrainingOptions;
import dev.tessera.examples.gpt.AdditionTask;
import dev.tessera.examples.gpt.GptModel;
import dev.tessera.graph.DType;
import dev.tessera.graph.GraphBuilder;
import dev.tessera.lowering.DistributedTraining;
import dev.tessera.optim.Optimizer;
import dev.tessera.optim.StepValidation;
import dev.tessera.plan.schedule.PipelineSchedule;
import dev.tessera.plan.schedule.Schedules;
import dev.tessera.plan.schedule.auto.AutoScheduler;
import dev.tessera.plan.simulate.CostModel;
import dev.tessera.plan.simulate.SimulationReport;
import dev.tessera.plan.simulate.Simulator;
import dev.tessera.plan.simulate.StageCosts;
import dev.tessera.runtime.trace.Trace;
import dev.tessera.runtime.trace.TraceEvent;
import dev.tessera.sbp.DeviceId;
import dev.tessera.sbp.Placement;
import dev.tessera.sbp.infer.StageBalancer;
import dev.tessera.sbp.infer.StageRules;
import dev.tessera.graph.Op;
import dev.tessera.tensor.HostTensor;
import dev.tessera.worker.actors.ActorExecutorOptions;
import dev.tessera.worker.actors.MeasuredStageTimes;
import dev.tessera.worker.actors.ParallelExecutor;
import dev.tessera.worker.exec.ComputeThreads;
import dev.tessera.worker.exec.StepResult;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToIntFunction;

/**
 * Pipeline schedules training for real: a GPT on the addition task large enough that compute
 * dominates per-op overhead (4 layers, d_model 256, 8 heads by default) cut by the cost model into
 * 2 stages on 2 virtual devices, one compute thread each, trained with each schedule family, auto,
 * and without a schedule (dataflow), against the same model on 1 device. Losses of the first steps
 * must agree with 1 device before timing. Auto runs twice: searched with the cost model's stage
 * times, and with the F, B and W times a traced 1F1B chunk measured. Then one traced chunk per schedule gives the measured
 * bubble fraction (idle device time over devices x span of the chunk's iterations), set beside the
 * simulator's for the same schedule fed the measured per-stage F, B and W times and update time.
 *
 * 1F1B-2BP, ZB-H1 and ZB-H2 also run with post-validated optimizer steps (updates that do not
 * wait for the gradient norm); auto also searches with room for ZB-H2's 3 micro-batches per device;
 * ZB-V runs the model cut into 4 stages (2 per device, in a V) on the balanced cut only.
 *
 * <p>Arguments: warm-up chunks (2), repeats (5), steps per chunk (3), micro-batches (8), global
 * batch (64), layers (4), d_model (256), and {@code uneven} to put block 0 alone on stage 0 and
 * every later block on stage 1 instead of the cost model's cut.
 */
public final class PipelineScheduleBenchmark {
    private PipelineScheduleBenchmark() {
    }

    public static void main(String[] args) {
        int warmup = argument(args, 0, 2);
        int repeats = argument(args, 1, 5);
        int chunk = argument(args, 2, 3);
        int microBatches = argument(args, 3, 8);
        int batch = argument(args, 4, 64);
        int layers = argument(args, 5, 4);
        int width = argument(args, 6, 256);
        ComputeThreads.set(1);
        AdditionTask task = new AdditionTask(3, 0, 1000);
        GraphBuilder g = new GraphBuilder(DType.F32);
        ModelGraph model = new GptModel(task, layers, width, 8, 0.0).build(g, batch / microBatches);
        TrainingOptions trainingOptions = new TrainingOptions(microBatches,
                new Optimizer.AdamW(0.9, 0.999, 1e-8, 0.01), 1.0);
        TrainingGraph graph = Autodiff.build(g.build(), model.loss(), trainingOptions);
        GraphBuilder again = new GraphBuilder(DType.F32);
        ModelGraph sameModel = new GptModel(task, layers, width, 8, 0.0).build(again, batch / microBatches);
        TrainingGraph postValidated = Autodiff.build(again.build(), sameModel.loss(),
                trainingOptions.withStepValidation(StepValidation.POST_VALIDATION));
        List<List<Map<String, HostTensor>>> steps = new ArrayList<>();
        List<List<Map<String, HostTensor>>> microSteps = GptBench.steps(task, batch / microBatches, chunk * microBatches);
        for (int s = 0; s < chunk; s++) {
            steps.add(microSteps.subList(s * microBatches, (s + 1) * microBatches).stream()
                    .map(step -> step.get(0)).toList());
        }
        double[] rates = GptBench.rates(chunk);

        List<Placement> stages = List.of(Placement.of(List.of(new DeviceId(0, 0)), 1, 1),
                Placement.of(List.of(new DeviceId(0, 1)), 1, 1));
        boolean uneven = args.length > 7 && args[7].equals("uneven");
        Map<Op, Placement> opStages = stages(graph, stages, uneven, layers);
        DistributedTraining split = DistributedTraining.plan(graph, stages.get(0), opStages, Map.of(),
                dev.tessera.sbp.infer.CostModel.standard());
        DistributedTraining postValidatedSplit = DistributedTraining.plan(postValidated, stages.get(0),
                stages(postValidated, stages, uneven, layers), Map.of(), dev.tessera.sbp.infer.CostModel.standard());
        System.out.println(String.format(Locale.ROOT, "GPT %d layers, d_model %d, batch %d in %d micro-batches: "
                + "%d logical ops; stages %s: %s", layers, width, batch, microBatches, graph.ops().size(),
                uneven ? "block 0 | the rest (uneven)" : "cut by the cost model",
                StageBalancer.costs(graph, stages, opStages, dev.tessera.sbp.infer.CostModel.standard()).stream()
                        .map(c -> c.forwardOps() + " forward ops").toList()));
        Map<String, PipelineSchedule> schedules = new LinkedHashMap<>();
        schedules.put("dataflow (no schedule)", null);
        schedules.put("gpipe", Schedules.gpipe(2, microBatches));
        schedules.put("1f1b", Schedules.oneFOneB(2, microBatches));
        schedules.put("1f1b-2bp", Schedules.oneFOneBTwoBp(2, microBatches));
        schedules.put("zb-h1", Schedules.zbH1(2, microBatches));
        schedules.put("zb-h2", Schedules.zbH2(2, microBatches));
        AutoScheduler.Choice auto = AutoScheduler.schedule(microBatches,
                StageCosts.of(split, dev.tessera.sbp.infer.CostModel.standard()), 2);
        schedules.put("auto, modeled (" + auto.origin() + ")", auto.schedule());
        // the same search fed the F, B and W times 1F1B measures on this machine
        try (ParallelExecutor probe = new ParallelExecutor(split, 1, ActorExecutorOptions.defaults().withTrace(true)
                .withSchedule(Schedules.oneFOneB(2, microBatches)))) {
            probe.run(steps, rates);
            probe.run(steps, rates);
            AutoScheduler.Choice measured = AutoScheduler.schedule(microBatches,
                    measuredCosts(probe.lastTrace().orElseThrow(), chunk, microBatches), 2);
            schedules.put("auto, measured (" + measured.origin() + ")", measured.schedule());
            // and with room for ZB-H2's 2p - 1 micro-batches per device instead of 1F1B's p
            AutoScheduler.Choice roomy = AutoScheduler.schedule(microBatches,
                    measuredCosts(probe.lastTrace().orElseThrow(), chunk, microBatches), 3);
            schedules.put("auto, measured, 3 per device (" + roomy.origin() + ")", roomy.schedule());
        }
        // ZB-V: the cost model cuts 4 stages, stage s on device s (s < 2) or 3 - s, in a V
        PipelineSchedule zbV = Schedules.zbV(2, microBatches);
        Map<String, Integer> stageOfOp = new LinkedHashMap<>();
        DistributedTraining vSplit = uneven ? null : vStages(graph, zbV, stageOfOp);

        List<ParallelExecutor> executors = new ArrayList<>();
        try {
            ParallelExecutor single = ParallelExecutor.onOneDevice(graph, 1);
            executors.add(single);
            List<StepResult> expected = single.run(steps.subList(0, 1), new double[] {rates[0]});
            List<Harness.Contender> contenders = new ArrayList<>();
            contenders.add(new Harness.Contender("1 device", () -> single.run(steps, rates)));
            Map<String, ParallelExecutor> byName = new LinkedHashMap<>();
            for (Map.Entry<String, PipelineSchedule> entry : schedules.entrySet()) {
                ActorExecutorOptions options = ActorExecutorOptions.defaults();
                ParallelExecutor executor = new ParallelExecutor(split, 1,
                        entry.getValue() == null ? options : options.withSchedule(entry.getValue()));
                executors.add(executor);
                double loss = executor.run(steps.subList(0, 1), new double[] {rates[0]}).get(0).loss();
                if (Math.abs(loss - expected.get(0).loss()) > 1e-5 * Math.abs(expected.get(0).loss())) {
                    throw new IllegalStateException(entry.getKey() + ": loss " + loss + " against "
                            + expected.get(0).loss() + " on one device");
                }
                byName.put(entry.getKey(), executor);
                contenders.add(new Harness.Contender(entry.getKey(), () -> executor.run(steps, rates)));
            }
            // post-validation: the same schedules with updates that do not wait for the gradient norm
            for (String name : List.of("1f1b-2bp", "zb-h1", "zb-h2")) {
                ParallelExecutor executor = new ParallelExecutor(postValidatedSplit, 1,
                        ActorExecutorOptions.defaults().withSchedule(schedules.get(name)));
                executors.add(executor);
                double loss = executor.run(steps.subList(0, 1), new double[] {rates[0]}).get(0).loss();
                if (Math.abs(loss - expected.get(0).loss()) > 1e-5 * Math.abs(expected.get(0).loss())) {
                    throw new IllegalStateException(name + " with post-validation: loss " + loss + " against "
                            + expected.get(0).loss() + " on one device");
                }
                contenders.add(new Harness.Contender(name + ", post-validation", () -> executor.run(steps, rates)));
            }
            if (vSplit != null) {
                ParallelExecutor executor = new ParallelExecutor(vSplit, 1,
                        ActorExecutorOptions.defaults().withSchedule(zbV, stageOfOp));
                executors.add(executor);
                double loss = executor.run(steps.subList(0, 1), new double[] {rates[0]}).get(0).loss();
                if (Math.abs(loss - expected.get(0).loss()) > 1e-5 * Math.abs(expected.get(0).loss())) {
                    throw new IllegalStateException("zb-v: loss " + loss + " against " + expected.get(0).loss());
                }
                contenders.add(new Harness.Contender("zb-v (4 stages on 2 devices)", () -> executor.run(steps, rates)));
            }
            List<Harness.Result> results = new Harness(warmup, repeats, 1).measure(contenders);
            System.out.println(warmup + " warm-up chunks each, then " + repeats + " interleaved repeats of " + chunk
                    + " steps; throughput relative to 1 device (median of back-to-back ratios):");
            for (Harness.Result result : results) {
                System.out.println(String.format(Locale.ROOT, "  %-60s %8.1f ms/step  x%.3f", result.name(),
                        result.median() / chunk, Harness.pairedRatio(results.get(0), result)));
            }
            System.out.println("bubble fraction of one traced chunk, measured and as the simulator predicts it from "
                    + "the measured per-stage F, B, W and update times:");
            for (Map.Entry<String, PipelineSchedule> entry : schedules.entrySet()) {
                if (entry.getValue() == null) {
                    continue;
                }
                try (ParallelExecutor traced = new ParallelExecutor(split, 1, ActorExecutorOptions.defaults()
                        .withTrace(true).withSchedule(entry.getValue()))) {
                    traced.run(steps, rates);
                    traced.run(steps, rates);
                    Trace trace = traced.lastTrace().orElseThrow();
                    double[] measured = measuredBubble(trace, e -> e.device().index());
                    SimulationReport predicted = Simulator.simulate(entry.getValue().withOptimizerSteps(), measuredCosts(trace, chunk,
                            microBatches));
                    System.out.println(String.format(Locale.ROOT, "  %-60s measured %.3f   simulated %.3f",
                            entry.getKey(), measured[0], predicted.bubbleRate()));
                }
            }
            if (vSplit != null) {
                try (ParallelExecutor traced = new ParallelExecutor(vSplit, 1, ActorExecutorOptions.defaults()
                        .withTrace(true).withSchedule(zbV, stageOfOp))) {
                    traced.run(steps, rates);
                    traced.run(steps, rates);
                    Trace trace = traced.lastTrace().orElseThrow();
                    ToIntFunction<TraceEvent> stageOf = e -> {
                        String name = e.actor().name();
                        return stageOfOp.getOrDefault(name.substring(0, name.lastIndexOf('@')), -1);
                    };
                    CostModel costs = MeasuredStageTimes.of(trace, stageOf, 4, chunk, microBatches);
                    System.out.println(String.format(Locale.ROOT, "  %-60s measured %.3f   simulated %.3f",
                            "zb-v (4 stages on 2 devices)", measuredBubble(trace, stageOf)[0],
                            Simulator.simulate(zbV.withOptimizerSteps(), costs).bubbleRate()));
                }
            }
        } finally {
            executors.forEach(ParallelExecutor::close);
        }
    }

    /** The cost model's cut of the graph into {@code schedule}'s stages, each on its schedule device. */
    private static DistributedTraining vStages(TrainingGraph graph, PipelineSchedule schedule,
                                               Map<String, Integer> stageOfOp) {
        List<Placement> markers = new ArrayList<>();
        for (int stage = 0; stage < schedule.stages(); stage++) {
            markers.add(Placement.of(List.of(new DeviceId(99, stage)), 1, 1));
        }
        Map<Op, Placement> cut = StageBalancer.balance(graph, markers, dev.tessera.sbp.infer.CostModel.standard())
                .placements();
        Map<Op, Placement> devices = new LinkedHashMap<>();
        for (Op op : graph.ops()) {
            int stage = cut.containsKey(op) ? cut.get(op).device(0).device() : 0;
            stageOfOp.put(op.name(), stage);
            devices.put(op, Placement.of(List.of(new DeviceId(0, schedule.deviceOf(stage))), 1, 1));
        }
        Placement first = Placement.of(List.of(new DeviceId(0, 0)), 1, 1);
        return DistributedTraining.plan(graph, first, devices, Map.of(), dev.tessera.sbp.infer.CostModel.standard());
    }

    /** Idle device time over devices x the chunk's span, a device busy while it runs an action. */
    private static double[] measuredBubble(Trace trace, ToIntFunction<TraceEvent> stageOfActor) {
        long start = Long.MAX_VALUE;
        long end = Long.MIN_VALUE;
        java.util.Set<Integer> devices = new java.util.HashSet<>();
        for (TraceEvent e : trace.events()) {
            start = Math.min(start, e.startNanos());
            end = Math.max(end, e.endNanos());
            devices.add(e.device().index());
        }
        // a device is busy in the union of its actions' spans (the actions of two stages may interleave)
        Map<Integer, List<long[]>> byDevice = new LinkedHashMap<>();
        MeasuredStageTimes.spans(trace, stageOfActor).forEach((key, span) ->
                byDevice.computeIfAbsent((Integer) key.get(1), d -> new ArrayList<>()).add(span));
        long busy = 0;
        for (List<long[]> spans : byDevice.values()) {
            spans.sort(java.util.Comparator.comparingLong(span -> span[0]));
            long from = 0;
            long to = 0;
            for (long[] span : spans) {
                if (span[0] > to) {
                    busy += to - from;
                    from = span[0];
                    to = span[1];
                } else {
                    to = Math.max(to, span[1]);
                }
            }
            busy += to - from;
        }
        double total = (double) (end - start) * devices.size();
        return new double[] {(total - busy) / total};
    }

    /** Each op's stage: the cost model's cut, or block 0 alone on stage 0 when {@code uneven}. */
    private static Map<Op, Placement> stages(TrainingGraph graph, List<Placement> stages, boolean uneven, int layers) {
        if (!uneven) {
            return StageBalancer.balance(graph, stages, dev.tessera.sbp.infer.CostModel.standard()).placements();
        }
        // stage 0: the embeddings and block 0; stage 1: every later block, the final norm and the head
        Map<String, Placement> rules = new LinkedHashMap<>();
        for (int layer = 1; layer < layers; layer++) {
            rules.put("block" + layer + ".", stages.get(1));
        }
        rules.put("ln_final.", stages.get(1));
        rules.put("head.", stages.get(1));
        return new StageRules(rules).resolve(graph.ops(), stages.get(0));
    }

    /** Per stage (= device here) F, B, W and update times measured in the trace. */
    private static CostModel measuredCosts(Trace trace, int steps, int microBatches) {
        return MeasuredStageTimes.of(trace, e -> e.device().index(), 2, steps, microBatches);
    }

    private static int argument(String[] args, int index, int fallback) {
        return args.length > index ? Integer.parseInt(args[index]) : fallback;
    }
}
